//! The guest's PSCI 1.0 firmware (Arm DEN 0022) and the SMCCC calls Linux
//! makes next to it (Arm DEN 0028), reached through `hvc #0` (or `smc #0`)
//! with the function ID in `x0`, arguments in `x1`-`x3` and the result in
//! `x0`.
//!
//! [`call`] decides what a call means; the VMM carries it out: it writes a
//! [`PsciAction::Return`] value to `x0`, stops or restarts the guest, or
//! waits for an interrupt.

/// PSCI_VERSION.
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// CPU_SUSPEND, SMC32 and SMC64.
pub const CPU_SUSPEND_32: u32 = 0x8400_0001;
pub const CPU_SUSPEND_64: u32 = 0xc400_0001;
/// CPU_OFF.
pub const CPU_OFF: u32 = 0x8400_0002;
/// CPU_ON, SMC32 and SMC64.
pub const CPU_ON_32: u32 = 0x8400_0003;
pub const CPU_ON_64: u32 = 0xc400_0003;
/// AFFINITY_INFO, SMC32 and SMC64.
pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
pub const AFFINITY_INFO_64: u32 = 0xc400_0004;
/// MIGRATE_INFO_TYPE.
pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
/// SYSTEM_OFF.
pub const SYSTEM_OFF: u32 = 0x8400_0008;
/// SYSTEM_RESET.
pub const SYSTEM_RESET: u32 = 0x8400_0009;
/// PSCI_FEATURES.
pub const PSCI_FEATURES: u32 = 0x8400_000a;
/// SMCCC_VERSION.
pub const SMCCC_VERSION: u32 = 0x8000_0000;
/// SMCCC_ARCH_FEATURES.
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

/// PSCI return codes, as the 64-bit `x0` value.
pub const SUCCESS: u64 = 0;
pub const NOT_SUPPORTED: u64 = -1i64 as u64;
pub const INVALID_PARAMETERS: u64 = -2i64 as u64;
pub const DENIED: u64 = -3i64 as u64;
pub const ALREADY_ON: u64 = -4i64 as u64;

/// PSCI version 1.0 (major in bits 31:16).
pub const VERSION_1_0: u64 = 0x0001_0000;
/// MIGRATE_INFO_TYPE 2: no Trusted OS that needs migrating.
pub const MIGRATE_NOT_REQUIRED: u64 = 2;
/// AFFINITY_INFO answers.
pub const AFFINITY_ON: u64 = 0;
pub const AFFINITY_OFF: u64 = 1;

/// The affinity fields of an MPIDR (Aff3 [39:32], Aff2-0 [23:0]).
const MPIDR_AFFINITY: u64 = 0xff_00ff_ffff;

/// What the VMM does for a PSCI or SMCCC call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciAction {
    /// Put this in `x0` and resume the guest.
    Return(u64),
    /// Power the system off (the guest is done).
    SystemOff,
    /// Restart the system.
    SystemReset,
    /// Start the VCPU with this MPIDR at `entry` (physical address, MMU
    /// off) with `context` in its `x0`; the caller's `x0` gets SUCCESS, or
    /// ALREADY_ON if that VCPU runs already (which only the VMM knows).
    CpuOn { mpidr: u64, entry: u64, context: u64 },
    /// Stop the calling VCPU; it does not return.
    CpuOff,
    /// Like WFI: wait for an interrupt, then return SUCCESS in `x0`.
    Suspend,
}

/// The functions implemented here.
const IMPLEMENTED: [u32; 13] = [
    PSCI_VERSION,
    CPU_SUSPEND_32,
    CPU_SUSPEND_64,
    CPU_OFF,
    CPU_ON_32,
    CPU_ON_64,
    AFFINITY_INFO_32,
    AFFINITY_INFO_64,
    MIGRATE_INFO_TYPE,
    SYSTEM_OFF,
    SYSTEM_RESET,
    PSCI_FEATURES,
    SMCCC_VERSION,
];

/// Decides what call `fid` (the low 32 bits of `x0`) with `args` (`x1`,
/// `x2`, `x3`) means for a guest with `vcpus` VCPUs, numbered by MPIDR
/// Aff0 from 0. SMC32 calls see only the low 32 bits of their arguments.
/// Anything unknown answers NOT_SUPPORTED.
///
/// VCPU 0, the caller, is on; AFFINITY_INFO answers OFF for the others
/// (a VMM that starts them with [`PsciAction::CpuOn`] answers for them
/// itself).
///
/// SMCCC_VERSION answers 1.0, so Linux does not look for the firmware
/// workarounds SMCCC_ARCH_FEATURES (NOT_SUPPORTED here) would announce.
pub fn call(fid: u32, args: [u64; 3], vcpus: usize) -> PsciAction {
    let args = if fid & 0x4000_0000 == 0 { args.map(|a| a & 0xffff_ffff) } else { args };
    let [a1, a2, a3] = args;
    let vcpu_of = |mpidr: u64| -> Option<u64> {
        let aff = mpidr & MPIDR_AFFINITY;
        (aff < vcpus as u64).then_some(aff)
    };
    match fid {
        PSCI_VERSION => PsciAction::Return(VERSION_1_0),
        PSCI_FEATURES => {
            let queried = a1 as u32;
            PsciAction::Return(if a1 <= u32::MAX as u64 && IMPLEMENTED.contains(&queried) {
                SUCCESS
            } else {
                NOT_SUPPORTED
            })
        }
        CPU_SUSPEND_32 | CPU_SUSPEND_64 => PsciAction::Suspend,
        CPU_OFF => PsciAction::CpuOff,
        CPU_ON_32 | CPU_ON_64 => match vcpu_of(a1) {
            Some(0) => PsciAction::Return(ALREADY_ON),
            Some(_) => PsciAction::CpuOn { mpidr: a1, entry: a2, context: a3 },
            None => PsciAction::Return(INVALID_PARAMETERS),
        },
        AFFINITY_INFO_32 | AFFINITY_INFO_64 => match (vcpu_of(a1), a2) {
            (Some(0), 0) => PsciAction::Return(AFFINITY_ON),
            (Some(_), 0) => PsciAction::Return(AFFINITY_OFF),
            _ => PsciAction::Return(INVALID_PARAMETERS),
        },
        MIGRATE_INFO_TYPE => PsciAction::Return(MIGRATE_NOT_REQUIRED),
        SYSTEM_OFF => PsciAction::SystemOff,
        SYSTEM_RESET => PsciAction::SystemReset,
        SMCCC_VERSION => PsciAction::Return(VERSION_1_0),
        _ => PsciAction::Return(NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(fid: u32, args: [u64; 3]) -> u64 {
        match call(fid, args, 1) {
            PsciAction::Return(v) => v,
            a => panic!("{fid:#x}: {a:?}"),
        }
    }

    #[test]
    fn version_and_features() {
        assert_eq!(ret(PSCI_VERSION, [0; 3]), 0x1_0000);
        for f in IMPLEMENTED {
            assert_eq!(ret(PSCI_FEATURES, [f as u64, 0, 0]), 0, "{f:#x}");
        }
        for f in [0x8400_0005u32, 0xc400_0005, 0x8400_0012, SMCCC_ARCH_FEATURES, 0x1234] {
            assert_eq!(ret(PSCI_FEATURES, [f as u64, 0, 0]), NOT_SUPPORTED, "{f:#x}");
        }
        assert_eq!(ret(PSCI_FEATURES, [0x1_8400_0000, 0, 0]), 0, "SMC32: x1 is 32 bits");
    }

    #[test]
    fn smccc() {
        assert_eq!(ret(SMCCC_VERSION, [0; 3]), 0x1_0000);
        assert_eq!(ret(SMCCC_ARCH_FEATURES, [0x8000_8000, 0, 0]), NOT_SUPPORTED);
        assert_eq!(ret(SMCCC_ARCH_FEATURES, [0x8000_7fff, 0, 0]), NOT_SUPPORTED);
    }

    #[test]
    fn cpu_on_with_one_vcpu() {
        for fid in [CPU_ON_32, CPU_ON_64] {
            assert_eq!(ret(fid, [0, 0x4008_0000, 0]), ALREADY_ON);
            assert_eq!(ret(fid, [0x8000_0000, 0x4008_0000, 0]), ALREADY_ON, "MPIDR bit 31 RES1");
            assert_eq!(ret(fid, [1, 0x4008_0000, 0]), INVALID_PARAMETERS);
            assert_eq!(ret(fid, [0x100, 0x4008_0000, 0]), INVALID_PARAMETERS);
        }
    }

    #[test]
    fn cpu_on_with_more_vcpus() {
        assert_eq!(
            call(CPU_ON_64, [1, 0x4008_0000, 0x1234_5678_9abc], 2),
            PsciAction::CpuOn { mpidr: 1, entry: 0x4008_0000, context: 0x1234_5678_9abc }
        );
        assert_eq!(
            call(CPU_ON_32, [1, 0x1_4008_0000, 0x1_0000_0002], 2),
            PsciAction::CpuOn { mpidr: 1, entry: 0x4008_0000, context: 2 }
        );
        assert_eq!(call(CPU_ON_64, [2, 0, 0], 2), PsciAction::Return(INVALID_PARAMETERS));
        assert_eq!(call(AFFINITY_INFO_64, [1, 0, 0], 2), PsciAction::Return(AFFINITY_OFF));
    }

    #[test]
    fn affinity_info() {
        for fid in [AFFINITY_INFO_32, AFFINITY_INFO_64] {
            assert_eq!(ret(fid, [0, 0, 0]), AFFINITY_ON);
            assert_eq!(ret(fid, [1, 0, 0]), INVALID_PARAMETERS);
            assert_eq!(ret(fid, [0, 1, 0]), INVALID_PARAMETERS, "level 1 is not supported");
        }
    }

    #[test]
    fn power_and_suspend() {
        assert_eq!(call(SYSTEM_OFF, [0; 3], 1), PsciAction::SystemOff);
        assert_eq!(call(SYSTEM_RESET, [0; 3], 1), PsciAction::SystemReset);
        assert_eq!(call(CPU_OFF, [0; 3], 1), PsciAction::CpuOff);
        assert_eq!(call(CPU_SUSPEND_32, [0, 0, 0], 1), PsciAction::Suspend);
        assert_eq!(call(CPU_SUSPEND_64, [0x1_0000, 0x4008_0000, 0], 1), PsciAction::Suspend);
        assert_eq!(ret(MIGRATE_INFO_TYPE, [0; 3]), 2);
    }

    #[test]
    fn unknown_calls() {
        for fid in [0x8400_0005, 0xc400_0005, 0x8400_0007, 0x8400_0012, 0xc600_0000, 0] {
            assert_eq!(ret(fid, [0; 3]), NOT_SUPPORTED, "{fid:#x}");
        }
        assert_eq!(NOT_SUPPORTED, 0xffff_ffff_ffff_ffff);
        assert_eq!(ALREADY_ON, 0xffff_ffff_ffff_fffc);
    }
}
