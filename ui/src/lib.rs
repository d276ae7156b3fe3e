//! berth dashboard.
