//! Links the bootstrap program with its own linker script when built for the
//! bare-metal target; host builds (unit tests of the library) are untouched.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    if std::env::var("TARGET").unwrap().ends_with("-none-softfloat") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
    println!("cargo:rerun-if-changed=link.ld");
}
