//! `_start`: the first instruction of every program. It sets up the stack
//! `link.ld` reserves and jumps to `__sel4_runtime_main`, the function
//! [`declare_root_task!`](crate::declare_root_task) or
//! [`declare_program!`](crate::declare_program) defines, with `x0` and
//! `x1` as the kernel (or the starting program) left them.
//!
//! Linking fails with "undefined symbol: __sel4_runtime_stack_top" when the
//! program is not linked with `link.ld`, and with "undefined symbol:
//! __sel4_runtime_main" when it declares no entry.

core::arch::global_asm!(
    ".section .text._start, \"ax\", %progbits",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "    adrp x9, __sel4_runtime_stack_top",
    "    add x9, x9, :lo12:__sel4_runtime_stack_top",
    "    mov sp, x9",
    // A zero frame pointer and link register end backtraces here.
    "    mov x29, xzr",
    "    mov x30, xzr",
    "    b __sel4_runtime_main",
    ".size _start, . - _start",
);
