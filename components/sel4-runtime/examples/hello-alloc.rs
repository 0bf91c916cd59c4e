//! A program (not the root task) with a heap: formats into a `String`,
//! collects into a `Vec`, and never returns. Needs the `alloc` feature:
//! `cargo build -p sel4-runtime --features alloc --target aarch64-unknown-none --examples`.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod program {
    extern crate alloc;

    use alloc::{format, string::String, vec::Vec};

    fn main(arg: sel4::Word) -> ! {
        let squares: Vec<u64> = (0..arg).map(|i| i * i).collect();
        let line: String = format!("{} squares, last {:?}", squares.len(), squares.last());
        sel4_runtime::println!("{line}");
        loop {
            sel4::r#yield();
        }
    }

    sel4_runtime::declare_program!(main, heap_size = 64 * 1024);
}

#[cfg(not(target_os = "none"))]
fn main() {}
