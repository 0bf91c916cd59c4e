//! Instruction sequences that fault at known addresses, so a fault handler
//! can check the address a fault message reports and resume the thread at
//! a known restart address, as sel4test's `read_fault_address` and
//! friends.
//!
//! | probe | faults at | then |
//! |---|---|---|
//! | `sel4test_read(addr)` | `_read_insn`, loading from `addr` | returns x0 at `_read_restart` |
//! | `sel4test_write(addr, v)` | `_write_insn`, storing `v` | returns x0 at `_write_restart` |
//! | `sel4test_exec(addr)` | `addr`, branching there with link | returns x0 at `_exec_restart` |
//! | `sel4test_udf(sp)` | `_udf_insn`, an undefined instruction, with `sp` as SP | returns the SP it resumed with |
//! | `sel4test_syscall(regs)` | `_syscall_insn`, `svc` with x0-x7 from `regs` | stores x0-x7 back into `regs` |

core::arch::global_asm!(
    ".section .text.sel4test_probes, \"ax\", %progbits",
    ".balign 4",
    ".global sel4test_read",
    ".global sel4test_read_insn",
    ".global sel4test_read_restart",
    "sel4test_read:",
    "sel4test_read_insn:",
    "    ldr x0, [x0]",
    "sel4test_read_restart:",
    "    ret",
    ".global sel4test_write",
    ".global sel4test_write_insn",
    ".global sel4test_write_restart",
    "sel4test_write:",
    "    mov x2, x0",
    "sel4test_write_insn:",
    "    str x1, [x2]",
    "sel4test_write_restart:",
    "    ret",
    ".global sel4test_exec",
    ".global sel4test_exec_restart",
    "sel4test_exec:",
    "    stp x29, x30, [sp, #-16]!",
    "    blr x0",
    "sel4test_exec_restart:",
    "    ldp x29, x30, [sp], #16",
    "    ret",
    ".global sel4test_udf",
    ".global sel4test_udf_insn",
    ".global sel4test_udf_restart",
    "sel4test_udf:",
    "    mov x9, sp",
    "    mov sp, x0",
    "sel4test_udf_insn:",
    "    udf #0",
    "sel4test_udf_restart:",
    "    mov x0, sp",
    "    mov sp, x9",
    "    ret",
    ".global sel4test_syscall",
    ".global sel4test_syscall_insn",
    ".global sel4test_syscall_restart",
    "sel4test_syscall:",
    "    stp x29, x30, [sp, #-16]!",
    "    mov x9, x0",
    "    ldp x0, x1, [x9, #0]",
    "    ldp x2, x3, [x9, #16]",
    "    ldp x4, x5, [x9, #32]",
    "    ldp x6, x7, [x9, #48]",
    "sel4test_syscall_insn:",
    "    svc #0",
    "sel4test_syscall_restart:",
    "    stp x0, x1, [x9, #0]",
    "    stp x2, x3, [x9, #16]",
    "    stp x4, x5, [x9, #32]",
    "    stp x6, x7, [x9, #48]",
    "    ldp x29, x30, [sp], #16",
    "    ret",
);

unsafe extern "C" {
    fn sel4test_read(addr: u64) -> u64;
    fn sel4test_write(addr: u64, value: u64) -> u64;
    fn sel4test_exec(addr: u64) -> u64;
    fn sel4test_udf(sp: u64) -> u64;
    fn sel4test_syscall(regs: *mut [u64; 8]);
    static sel4test_read_insn: u8;
    static sel4test_read_restart: u8;
    static sel4test_write_insn: u8;
    static sel4test_write_restart: u8;
    static sel4test_exec_restart: u8;
    static sel4test_udf_insn: u8;
    static sel4test_udf_restart: u8;
    static sel4test_syscall_insn: u8;
    static sel4test_syscall_restart: u8;
}

/// Addresses of the faulting instructions and of their restart points.
pub fn read_insn() -> u64 {
    (&raw const sel4test_read_insn) as u64
}
pub fn read_restart() -> u64 {
    (&raw const sel4test_read_restart) as u64
}
pub fn write_insn() -> u64 {
    (&raw const sel4test_write_insn) as u64
}
pub fn write_restart() -> u64 {
    (&raw const sel4test_write_restart) as u64
}
pub fn exec_restart() -> u64 {
    (&raw const sel4test_exec_restart) as u64
}
pub fn udf_insn() -> u64 {
    (&raw const sel4test_udf_insn) as u64
}
pub fn udf_restart() -> u64 {
    (&raw const sel4test_udf_restart) as u64
}
pub fn syscall_insn() -> u64 {
    (&raw const sel4test_syscall_insn) as u64
}
pub fn syscall_restart() -> u64 {
    (&raw const sel4test_syscall_restart) as u64
}

/// Loads the word at `addr`.
pub fn read(addr: u64) -> u64 {
    // SAFETY: a load from an arbitrary address either works or faults to
    // the thread's handler; it writes no memory.
    unsafe { sel4test_read(addr) }
}

/// Stores `value` at `addr` (an address no Rust object lives at).
pub fn write(addr: u64, value: u64) -> u64 {
    // SAFETY: the tests only pass addresses of pages they map for this
    // purpose or that are unmapped.
    unsafe { sel4test_write(addr, value) }
}

/// Branches to `addr` with link.
pub fn exec(addr: u64) -> u64 {
    // SAFETY: the tests pass unmapped addresses (which fault) or code
    // following the procedure call standard.
    unsafe { sel4test_exec(addr) }
}

/// Executes an undefined instruction with SP = `sp`.
pub fn udf(sp: u64) -> u64 {
    // SAFETY: nothing accesses memory through `sp` before the original SP
    // is restored.
    unsafe { sel4test_udf(sp) }
}

/// Makes the syscall `regs[7]` with x0-x6 from `regs`, then stores x0-x7
/// back into `regs`.
pub fn syscall(regs: &mut [u64; 8]) {
    // SAFETY: the probe reads and writes the 8 words at `regs`; the
    // syscalls the tests make with it are unknown ones, which only fault.
    unsafe { sel4test_syscall(regs) }
}

/// Helper body: reads the word at `[addr]`.
pub fn h_read(_: &crate::sys::Ipc, a: [u64; 4]) -> u64 {
    read(a[0])
}

/// Helper body: writes `[_, value]` at `[addr]`; returns 0.
pub fn h_write(_: &crate::sys::Ipc, a: [u64; 4]) -> u64 {
    write(a[0], a[1]);
    0
}

/// Helper body: calls the code at `[addr]`; returns its x0.
pub fn h_exec(_: &crate::sys::Ipc, a: [u64; 4]) -> u64 {
    exec(a[0])
}
