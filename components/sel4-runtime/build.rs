//! Hands the linker script (`link.ld`) to the programs that use this crate.
//!
//! Cargo passes link arguments only to the package that prints them, so a
//! program cannot inherit `-T` from a library. Instead this crate declares
//! `links = "sel4_runtime"` and publishes the script's path as metadata;
//! each program's one-line `build.rs` turns it into the `-T` argument:
//!
//! ```text
//! fn main() {
//!     if let Ok(script) = std::env::var("DEP_SEL4_RUNTIME_LINKER_SCRIPT") {
//!         println!("cargo::rustc-link-arg-bins=-T{script}");
//!     }
//! }
//! ```
//!
//! Nothing is published for host builds, so host builds link as usual. This
//! crate's own examples get the script directly.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    if os == "none" && arch == "aarch64" {
        let script = format!("{dir}/link.ld");
        println!("cargo::metadata=linker_script={script}");
        println!("cargo::rustc-link-arg-examples=-T{script}");
    }
    println!("cargo::rerun-if-changed=link.ld");
}
