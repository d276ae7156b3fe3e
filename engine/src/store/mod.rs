//! On-disk state shared by every berth process, and the only module that speaks SQL: the
//! SQLite database ([`db`]) with container, event, volume, network and image records, the content
//! store of blobs ([`content`], addressed by [`digest`]), the unpacked-layer snapshots
//! ([`snapshots`]), and the image store that ties those together ([`images`]). Everything
//! here is blocking and takes a handle or a `&Db`; callers above decide policy.
pub(crate) mod containers;
pub(crate) mod content;
pub mod db;
pub mod digest;
pub(crate) mod events;
pub mod images;
pub mod networks;
pub mod snapshots;
pub(crate) mod volumes;
