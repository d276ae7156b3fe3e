//! On-disk state shared by every berth process: the SQLite database, the content store
//! of blobs, the unpacked-layer snapshots, and the image store that ties them together.
pub mod content;
pub mod db;
pub mod images;
pub mod snapshots;
