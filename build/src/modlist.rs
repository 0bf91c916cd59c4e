//! modules.list.
