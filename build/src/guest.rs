//! Guest files.
