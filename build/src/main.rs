//! `build`: the host tool behind make.
mod guest;
mod modlist;

fn main() {}
