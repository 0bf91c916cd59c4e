//! Links with the runtime's linker script (see sel4-runtime).
fn main() {
    if let Ok(script) = std::env::var("DEP_SEL4_RUNTIME_LINKER_SCRIPT") {
        println!("cargo::rustc-link-arg-bins=-T{script}");
    }
}
