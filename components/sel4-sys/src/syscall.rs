//! System calls and their register convention (aarch64).
//!
//! `svc #0` with the syscall number in `x7`:
//!
//! | register | in | out |
//! |---|---|---|
//! | x0 | destination / source cap | badge of the sender |
//! | x1 | message info | message info |
//! | x2-x5 | message registers 0-3 | message registers 0-3 |
//! | x7 | syscall number | - |
//!
//! Message registers past the fourth live in the IPC buffer.
//! `Signal`, `Wait` and `Poll` on a notification are `Send`, `Recv` and
//! `NBRecv` on its cap, as in seL4.

/// Syscall numbers (seL4's, non-MCS).
#[repr(i64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    Call = -1,
    ReplyRecv = -2,
    Send = -3,
    NBSend = -4,
    Recv = -5,
    Reply = -6,
    Yield = -7,
    NBRecv = -8,
    DebugPutChar = -9,
    DebugDumpScheduler = -10,
    /// Stops the system: powers the machine off.
    DebugHalt = -11,
    /// Does nothing: the cost of entering and leaving the kernel
    /// (seL4's `seL4_BenchmarkNullSyscall`).
    BenchmarkNullSyscall = -12,
}

impl Syscall {
    pub const fn from_word(w: u64) -> Option<Syscall> {
        Some(match w as i64 {
            -1 => Syscall::Call,
            -2 => Syscall::ReplyRecv,
            -3 => Syscall::Send,
            -4 => Syscall::NBSend,
            -5 => Syscall::Recv,
            -6 => Syscall::Reply,
            -7 => Syscall::Yield,
            -8 => Syscall::NBRecv,
            -9 => Syscall::DebugPutChar,
            -10 => Syscall::DebugDumpScheduler,
            -11 => Syscall::DebugHalt,
            -12 => Syscall::BenchmarkNullSyscall,
            _ => return None,
        })
    }
}

/// Number of message registers passed in CPU registers.
pub const MSG_REGISTERS_IN_CPU: usize = 4;
