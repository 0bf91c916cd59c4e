//! A thread's registers as `TCB ReadRegisters` and `WriteRegisters`
//! transfer them: `sel4_sys::UserContext`, seL4's aarch64
//! `seL4_UserContext` (pc, sp, spsr, x0-x8, x16-x18, x29, x30, x9-x15,
//! x19-x28, tpidr_el0, tpidrro_el0), with accessors by register name so
//! that callers need not know the order.

use crate::{Word, sys};

/// Registers in a [`UserContext`]: the most `ReadRegisters` transfers.
pub const USER_CONTEXT_NUM_REGS: usize = sys::context::USER_CONTEXT_WORDS;

/// `gpr` and `gpr_mut`: register `x<ix>` by number.
macro_rules! gprs {
    ($($ix:literal => $field:ident,)*) => {
        /// General-purpose register `x<ix>`.
        ///
        /// # Panics
        ///
        /// If `ix` > 30.
        pub fn gpr(&self, ix: usize) -> &Word {
            match ix {
                $($ix => &self.0.$field,)*
                _ => panic!("no register x{ix}"),
            }
        }

        /// # Panics
        ///
        /// If `ix` > 30.
        pub fn gpr_mut(&mut self, ix: usize) -> &mut Word {
            match ix {
                $($ix => &mut self.0.$field,)*
                _ => panic!("no register x{ix}"),
            }
        }
    };
}

/// A thread's user-visible registers.
#[repr(transparent)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct UserContext(sys::UserContext);

impl UserContext {
    pub const fn from_inner(inner: sys::UserContext) -> Self {
        UserContext(inner)
    }

    pub const fn into_inner(self) -> sys::UserContext {
        self.0
    }

    pub const fn inner(&self) -> &sys::UserContext {
        &self.0
    }

    pub fn inner_mut(&mut self) -> &mut sys::UserContext {
        &mut self.0
    }

    /// From the words in transfer order.
    pub fn from_words(words: &[Word; USER_CONTEXT_NUM_REGS]) -> Self {
        UserContext(sys::UserContext::from_words(words))
    }

    /// The words in transfer order.
    pub fn to_words(&self) -> [Word; USER_CONTEXT_NUM_REGS] {
        self.0.to_words()
    }

    pub fn pc(&self) -> &Word {
        &self.0.pc
    }

    pub fn pc_mut(&mut self) -> &mut Word {
        &mut self.0.pc
    }

    pub fn sp(&self) -> &Word {
        &self.0.sp
    }

    pub fn sp_mut(&mut self) -> &mut Word {
        &mut self.0.sp
    }

    pub fn spsr(&self) -> &Word {
        &self.0.spsr
    }

    pub fn spsr_mut(&mut self) -> &mut Word {
        &mut self.0.spsr
    }

    gprs! {
        0 => x0, 1 => x1, 2 => x2, 3 => x3, 4 => x4, 5 => x5, 6 => x6, 7 => x7, 8 => x8,
        9 => x9, 10 => x10, 11 => x11, 12 => x12, 13 => x13, 14 => x14, 15 => x15,
        16 => x16, 17 => x17, 18 => x18, 19 => x19, 20 => x20, 21 => x21, 22 => x22,
        23 => x23, 24 => x24, 25 => x25, 26 => x26, 27 => x27, 28 => x28, 29 => x29,
        30 => x30,
    }

    /// Argument register `ix` of the C calling convention (`x0`-`x7`).
    ///
    /// # Panics
    ///
    /// If `ix` > 7.
    pub fn c_param(&self, ix: usize) -> &Word {
        assert!(ix < 8, "no parameter register {ix}");
        self.gpr(ix)
    }

    /// # Panics
    ///
    /// If `ix` > 7.
    pub fn c_param_mut(&mut self, ix: usize) -> &mut Word {
        assert!(ix < 8, "no parameter register {ix}");
        self.gpr_mut(ix)
    }

    pub fn tpidr_el0(&self) -> &Word {
        &self.0.tpidr_el0
    }

    pub fn tpidr_el0_mut(&mut self) -> &mut Word {
        &mut self.0.tpidr_el0
    }

    pub fn tpidrro_el0(&self) -> &Word {
        &self.0.tpidrro_el0
    }

    pub fn tpidrro_el0_mut(&mut self) -> &mut Word {
        &mut self.0.tpidrro_el0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_reach_the_right_words() {
        let mut c = UserContext::default();
        *c.pc_mut() = 1;
        *c.sp_mut() = 2;
        *c.spsr_mut() = 3;
        for ix in 0..=30 {
            *c.gpr_mut(ix) = 100 + ix as Word;
        }
        *c.tpidr_el0_mut() = 50;
        *c.tpidrro_el0_mut() = 51;
        let w = c.to_words();
        // seL4's order: x0-x8, then x16-x18, x29, x30, then x9-x15, x19-x28.
        assert_eq!(&w[..4], &[1, 2, 3, 100]);
        assert_eq!(&w[11..20], &[108, 116, 117, 118, 129, 130, 109, 110, 111]);
        assert_eq!(&w[24..], &[119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 50, 51]);
        assert_eq!(UserContext::from_words(&w), c);
        assert_eq!((*c.gpr(29), *c.c_param(7), *c.tpidrro_el0()), (129, 107, 51));
        assert_eq!((*c.pc(), *c.sp(), *c.spsr(), *c.tpidr_el0()), (1, 2, 3, 50));
    }

    #[test]
    #[should_panic(expected = "no register x31")]
    fn x31_panics() {
        UserContext::default().gpr(31);
    }

    #[test]
    #[should_panic(expected = "no parameter register 8")]
    fn c_param_8_panics() {
        UserContext::default().c_param(8);
    }
}
