//! cons, the console multiplexer: the logic ([`mux`]) as a library, tested
//! on the host; the program (`src/main.rs`) drives the PL011 with it.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod mux;
