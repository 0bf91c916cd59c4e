//! Decoding a guest's trapped MMIO access: the syndrome (ESR_EL2) of a data
//! abort from a lower exception level (EC 0x24) says, when ISV is set, the
//! access's size, register, direction and extension (Arm ARM D17.2.40,
//! "ISS encoding for an exception from a Data Abort"):
//!
//! ```text
//! 31:26 EC  25 IL  24 ISV  23:22 SAS  21 SSE  20:16 SRT  15 SF  14 AR
//! 8 CM  7 S1PTW  6 WnR  5:0 DFSC
//! ```
//!
//! After emulating, the VMM advances the guest's PC by 4 (IL is set for
//! every A64 instruction).

use core::fmt;

/// EC of a data abort from a lower exception level.
pub const EC_DATA_ABORT_LOWER: u64 = 0x24;

const ISV: u64 = 1 << 24;
const SSE: u64 = 1 << 21;
const SF: u64 = 1 << 15;
const CM: u64 = 1 << 8;
const WNR: u64 = 1 << 6;

/// One decoded access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// The general-purpose register, 0-30; 31 is xzr/wzr.
    pub reg: u8,
    /// A store (else a load).
    pub write: bool,
    /// A load that sign-extends (`ldrsb`, `ldrsh`, `ldrsw`).
    pub sign_extend: bool,
    /// The register is 64 bits wide (`x`), else 32 (`w`).
    pub sixty_four: bool,
}

/// Why a syndrome cannot be emulated from its ISS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undecodable {
    /// Not a data abort from a lower exception level.
    NotDataAbort { esr: u64, ec: u8 },
    /// ISV clear: the instruction (a load/store pair, a writeback form, a
    /// SIMD register...) is not described by the syndrome.
    NoSyndrome { esr: u64 },
    /// A cache maintenance instruction on the address.
    CacheMaintenance { esr: u64 },
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Undecodable::NotDataAbort { esr, ec } => {
                write!(f, "ESR {esr:#x}: EC {ec:#x} is not a data abort from a lower EL")
            }
            Undecodable::NoSyndrome { esr } => write!(
                f,
                "ESR {esr:#x}: ISV clear, the access is not described (load/store pair, \
                 writeback or SIMD access to MMIO?)"
            ),
            Undecodable::CacheMaintenance { esr } => {
                write!(f, "ESR {esr:#x}: a cache maintenance operation, not a load or store")
            }
        }
    }
}

/// Decodes the syndrome of a data abort from the guest.
pub fn decode(esr: u64) -> Result<Access, Undecodable> {
    let ec = ((esr >> 26) & 0x3f) as u8;
    if ec as u64 != EC_DATA_ABORT_LOWER {
        return Err(Undecodable::NotDataAbort { esr, ec });
    }
    if esr & ISV == 0 {
        return Err(Undecodable::NoSyndrome { esr });
    }
    if esr & CM != 0 {
        return Err(Undecodable::CacheMaintenance { esr });
    }
    Ok(Access {
        size: 1 << ((esr >> 22) & 3),
        reg: ((esr >> 16) & 0x1f) as u8,
        write: esr & WNR != 0,
        sign_extend: esr & SSE != 0,
        sixty_four: esr & SF != 0,
    })
}

/// The faulting guest physical address: HPFAR_EL2.FIPA (bits 43:4, the
/// page number) with the page offset from FAR_EL2.
pub fn fault_ipa(hpfar: u64, far: u64) -> u64 {
    ((hpfar & 0x0000_0fff_ffff_fff0) << 8) | (far & 0xfff)
}

impl Access {
    fn mask(&self) -> u64 {
        if self.size >= 8 { u64::MAX } else { (1u64 << (8 * self.size)) - 1 }
    }

    /// The value to put in the register for a load that read `raw` (its
    /// low `size` bytes count): zero- or sign-extended to the register's
    /// width; a 32-bit register's upper half is zero.
    pub fn load_value(&self, raw: u64) -> u64 {
        let bits = 8 * self.size as u32;
        let v = raw & self.mask();
        let v = if self.sign_extend && bits < 64 {
            (((v << (64 - bits)) as i64) >> (64 - bits)) as u64
        } else {
            v
        };
        if self.sixty_four { v } else { v & 0xffff_ffff }
    }

    /// The value a store writes, from its register's value (pass 0 for
    /// register 31, wzr/xzr): the low `size` bytes.
    pub fn store_value(&self, reg_value: u64) -> u64 {
        reg_value & self.mask()
    }
}

/// TCB Read/WriteRegisters move registers in seL4's order (pc, sp, spsr,
/// x0-x8, x16-x18, x29, x30, x9-x15, x19-x28, tpidr_el0, tpidrro_el0):
/// an exit that needs only pc, sp and spsr moves these three.
pub const PC_SP_SPSR: u64 = 3;

/// How many registers, in that order, reach x`rt` (31, the zero register:
/// [`PC_SP_SPSR`]), so an emulated access moves no more than it needs.
pub fn regs_through(rt: u8) -> u64 {
    let rt = rt as u64;
    match rt {
        0..=8 => 4 + rt,
        16..=18 => 13 + (rt - 16),
        29 => 16,
        30 => 17,
        9..=15 => 18 + (rt - 9),
        19..=28 => 25 + (rt - 19),
        _ => PC_SP_SPSR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_through_each_x_follow_sel4s_order() {
        // pc, sp, spsr, then these, as TCB ReadRegisters sends them.
        let order = [
            0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 29, 30, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21,
            22, 23, 24, 25, 26, 27, 28,
        ];
        for (i, &x) in order.iter().enumerate() {
            assert_eq!(regs_through(x), PC_SP_SPSR + i as u64 + 1, "x{x}");
        }
        assert_eq!(regs_through(31), PC_SP_SPSR);
    }

    /// An ESR of a data abort with a translation fault at level 3.
    fn esr(sas: u64, sse: bool, srt: u64, sf: bool, write: bool) -> u64 {
        (EC_DATA_ABORT_LOWER << 26)
            | (1 << 25)
            | ISV
            | (sas << 22)
            | ((sse as u64) << 21)
            | (srt << 16)
            | ((sf as u64) << 15)
            | ((write as u64) << 6)
            | 0x07
    }

    #[test]
    fn ldr_w1() {
        // `ldr w1, [x0]` faulting with a level-2 translation fault.
        let a = decode(0x9381_0006).unwrap();
        assert_eq!(
            a,
            Access { size: 4, reg: 1, write: false, sign_extend: false, sixty_four: false }
        );
        assert_eq!(esr(2, false, 1, false, false) & !0x3f | 0x06, 0x9381_0006);
        assert_eq!(a.load_value(0xdead_beef_1234_5678), 0x1234_5678);
    }

    #[test]
    fn stores() {
        // `str x3, [x0]`
        let a = decode(esr(3, false, 3, true, true)).unwrap();
        assert_eq!((a.size, a.reg, a.write, a.sixty_four), (8, 3, true, true));
        assert_eq!(a.store_value(0x1122_3344_5566_7788), 0x1122_3344_5566_7788);
        // `strb w5, [x0]`
        let a = decode(esr(0, false, 5, false, true)).unwrap();
        assert_eq!(a.store_value(0x1ff), 0xff);
        // `strh wzr, [x0]`
        let a = decode(esr(1, false, 31, false, true)).unwrap();
        assert_eq!((a.size, a.reg), (2, 31));
        assert_eq!(a.store_value(0), 0);
    }

    #[test]
    fn sign_and_zero_extension() {
        // `ldrsb x2, [x0]`
        let a = decode(esr(0, true, 2, true, false)).unwrap();
        assert_eq!(a.load_value(0x80), 0xffff_ffff_ffff_ff80);
        assert_eq!(a.load_value(0x7f), 0x7f);
        // `ldrsh w2, [x0]`: sign-extended to 32 bits only.
        let a = decode(esr(1, true, 2, false, false)).unwrap();
        assert_eq!(a.load_value(0x8001), 0xffff_8001);
        // `ldrsw x2, [x0]`
        let a = decode(esr(2, true, 2, true, false)).unwrap();
        assert_eq!(a.load_value(0xffff_fffe), u64::MAX - 1);
        // `ldrb w2, [x0]`: zero-extended, higher bytes dropped.
        let a = decode(esr(0, false, 2, false, false)).unwrap();
        assert_eq!(a.load_value(0xabcd), 0xcd);
        // `ldr x2, [x0]`
        let a = decode(esr(3, false, 2, true, false)).unwrap();
        assert_eq!(a.load_value(u64::MAX), u64::MAX);
    }

    #[test]
    fn undecodable() {
        let no_isv = esr(2, false, 1, false, false) & !ISV;
        assert_eq!(decode(no_isv), Err(Undecodable::NoSyndrome { esr: no_isv }));
        let hvc = 0x16 << 26 | 1 << 25;
        assert_eq!(decode(hvc), Err(Undecodable::NotDataAbort { esr: hvc, ec: 0x16 }));
        let cm = esr(2, false, 0, false, true) | CM;
        assert_eq!(decode(cm), Err(Undecodable::CacheMaintenance { esr: cm }));
        assert!(Undecodable::NoSyndrome { esr: no_isv }.to_string().contains("ISV clear"));
    }

    #[test]
    fn ipa() {
        assert_eq!(fault_ipa(0x0090_1000 >> 8, 0xffff_0000_0000_0018), 0x0090_1018);
        assert_eq!(fault_ipa(0x80_0000, 0x123), 0x8000_0123);
    }
}
