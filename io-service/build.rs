//! Links with the runtime's linker script (see sel4-runtime), with a stack
//! large enough for the configuration interpreter's recursion.
fn main() {
    if let Ok(script) = std::env::var("DEP_SEL4_RUNTIME_LINKER_SCRIPT") {
        println!("cargo::rustc-link-arg-bins=-T{script}");
        println!("cargo::rustc-link-arg-bins=--defsym=__sel4_runtime_stack_size=0x100000");
    }
}
