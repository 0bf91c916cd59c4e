//! The register set `TCB ReadRegisters` / `WriteRegisters` / `CopyRegisters`
//! transfer, in message-register order: seL4's aarch64 `seL4_UserContext`,
//! field for field. The first [`USER_CONTEXT_FRAME_WORDS`] are the "frame"
//! registers (pc, sp, spsr, x0-x8, x16-x18, x29, x30), the rest the other
//! integer registers and the two thread-ID registers, exactly as in seL4
//! (which lists x16-x18, x29 and x30 before x9).
//!
//! `pc` is the address the thread resumes at; `spsr` is sanitised by the
//! kernel (only the NZCV flags are kept; the thread always runs at EL0t
//! with interrupts enabled).

/// A thread's user-visible registers, in seL4's order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    pub pc: u64,
    pub sp: u64,
    pub spsr: u64,
    pub x0: u64,
    pub x1: u64,
    pub x2: u64,
    pub x3: u64,
    pub x4: u64,
    pub x5: u64,
    pub x6: u64,
    pub x7: u64,
    pub x8: u64,
    pub x16: u64,
    pub x17: u64,
    pub x18: u64,
    pub x29: u64,
    pub x30: u64,
    pub x9: u64,
    pub x10: u64,
    pub x11: u64,
    pub x12: u64,
    pub x13: u64,
    pub x14: u64,
    pub x15: u64,
    pub x19: u64,
    pub x20: u64,
    pub x21: u64,
    pub x22: u64,
    pub x23: u64,
    pub x24: u64,
    pub x25: u64,
    pub x26: u64,
    pub x27: u64,
    pub x28: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
}

/// Words in a [`UserContext`] (the `count` limit of Read/WriteRegisters).
pub const USER_CONTEXT_WORDS: usize = 36;
/// Of which the frame registers, transferred first.
pub const USER_CONTEXT_FRAME_WORDS: usize = 17;

const _: () = assert!(core::mem::size_of::<UserContext>() == USER_CONTEXT_WORDS * 8);

impl UserContext {
    /// The registers as message words, in order.
    pub fn to_words(&self) -> [u64; USER_CONTEXT_WORDS] {
        // SAFETY: `UserContext` is `repr(C)` with exactly
        // `USER_CONTEXT_WORDS` u64 fields (checked above), so it has the
        // layout of the array.
        unsafe { core::mem::transmute_copy(self) }
    }

    /// The registers from message words, in order.
    pub fn from_words(w: &[u64; USER_CONTEXT_WORDS]) -> Self {
        // SAFETY: as for `to_words`; every bit pattern is a valid u64.
        unsafe { core::mem::transmute_copy(w) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_sel4s() {
        let c = UserContext {
            pc: 1,
            x8: 2,
            x16: 3,
            x30: 4,
            x9: 5,
            tpidrro_el0: 6,
            ..Default::default()
        };
        let w = c.to_words();
        assert_eq!((w[0], w[11], w[12], w[16], w[17], w[35]), (1, 2, 3, 4, 5, 6));
        assert_eq!(UserContext::from_words(&w), c);
    }
}
