//! Stage-2 translation for user threads, EL2 configuration, TLB and cache
//! maintenance.
//!
//! Following seL4's non-VHE hypervisor design, user threads run at EL0 with
//! HCR_EL2.TGE set (their SVCs and faults come to EL2), DC set (stage 1 off,
//! memory normal cacheable) and VM set: their VSpace is a stage-2 table, its
//! ASID the VMID. VMIDs are 8 bits; ASIDs are 16, so each VMID remembers
//! which ASID last used it and is flushed when another takes it over.

use core::arch::asm;

/// HCR_EL2 for native threads: VM, SWIO, FMO, IMO, AMO, DC, TSC, TGE, RW,
/// TVM, TTLB, TAC.
pub const HCR_NATIVE: u64 = (1 << 0)
    | (1 << 1)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 12)
    | (1 << 19)
    | (1 << 27)
    | (1 << 31)
    | (1 << 26)
    | (1 << 25)
    | (1 << 21);
/// VTCR_EL2: T0SZ = 25 (39-bit IPA), SL0 = 1 (start at level 1), inner and
/// outer write-back walks, inner shareable, 4 KiB granule, 40-bit PA, RES1
/// bit 31.
const VTCR: u64 = 25 | (1 << 6) | (1 << 8) | (1 << 10) | (3 << 12) | (2 << 16) | (1 << 31);
/// CPTR_EL2: TFP traps FP/SIMD use to EL2 (bits 8-9, 12-13 are RES1).
pub const CPTR_TFP: u64 = 1 << 10;
const CPTR_RES1: u64 = 0x33ff;

/// Sets up EL2 for running user threads.
pub fn init() {
    // SAFETY: configures EL2 translation and trap controls for lower ELs;
    // none affects the kernel's own (EL2) execution.
    unsafe {
        asm!(
            "msr vtcr_el2, {vtcr}",
            "msr hcr_el2, {hcr}",
            "msr cptr_el2, {cptr}",
            "msr cpacr_el1, {cpacr}",
            "msr mdcr_el2, xzr",
            "msr pmuserenr_el0, xzr",
            "isb",
            vtcr = in(reg) VTCR,
            hcr = in(reg) HCR_NATIVE,
            cptr = in(reg) CPTR_RES1 | CPTR_TFP,
            cpacr = in(reg) 3u64 << 20,
        )
    };
}

/// PMU event number of retired instructions, and PMEVTYPER's bit that
/// makes a counter count at EL2 too.
const PMU_INST_RETIRED: u64 = 0x08;
const PMEVTYPER_NSH: u64 = 1 << 27;

/// Exports the PMU to user threads (the kernel's `pmu` option, for
/// benchmarks): counter 0 counts retired instructions at every level, the
/// kernel's included, and EL0 may read the counters. Off by default, as in
/// seL4, since counters are a timing channel between threads.
pub fn export_pmu() {
    // SAFETY: configures the PMU and its EL0/EL1 access controls; nothing
    // the kernel relies on uses the PMU.
    unsafe {
        asm!(
            "mrs {n}, pmcr_el0",
            "ubfx {n}, {n}, #11, #5",
            "msr mdcr_el2, {n}",
            "msr pmevtyper0_el0, {ev}",
            "msr pmcntenset_el0, {one}",
            "mov {n}, #3",
            "msr pmcr_el0, {n}",
            "mov {n}, #0xd",
            "msr pmuserenr_el0, {n}",
            "isb",
            n = out(reg) _,
            ev = in(reg) PMU_INST_RETIRED | PMEVTYPER_NSH,
            one = in(reg) 1u64,
        )
    };
}

/// Traps (true) or allows (false) FP/SIMD use by lower ELs.
/// Without `sync` the change takes effect at the next exception return
/// (a context synchronization event), which is all the exit path needs;
/// the kernel's own FP use (saving and loading FP state) needs `sync`.
pub fn trap_fpu(trap: bool, sync: bool) {
    let v = CPTR_RES1 | if trap { CPTR_TFP } else { 0 };
    // SAFETY: only changes whether FP use traps.
    unsafe {
        if sync {
            asm!("msr cptr_el2, {}", "isb", in(reg) v)
        } else {
            asm!("msr cptr_el2, {}", in(reg) v)
        }
    };
}

/// Which ASID each VMID last served.
pub struct Vmids {
    owner: [u16; 256],
    valid: [bool; 256],
}

impl Vmids {
    pub const fn new() -> Vmids {
        Vmids { owner: [0; 256], valid: [false; 256] }
    }

    /// Installs the stage-2 table at `root` for `asid`.
    pub fn switch_to(&mut self, root: u64, asid: u16) {
        let vmid = (asid & 0xff) as usize;
        let vttbr = root | (vmid as u64) << 48;
        // SAFETY: `root` is the physical address of a VSpace table the
        // kernel core keeps valid while a thread runs in it. Stage 2 is
        // used only below EL2: the exception return synchronizes the write.
        unsafe { asm!("msr vttbr_el2, {}", in(reg) vttbr) };
        if !self.valid[vmid] || self.owner[vmid] != asid {
            // SAFETY: with VTTBR naming this VMID (synchronized first), drop
            // every stage-1+2 entry tagged with it (left by a previous owner).
            unsafe { asm!("isb", "dsb ishst", "tlbi vmalls12e1", "dsb ish", "isb") };
            self.owner[vmid] = asid;
            self.valid[vmid] = true;
        }
    }

    /// Forgets every translation of `asid`. Entries are tagged with the
    /// VMID, which `asid` may not own right now, so all EL1&0 entries go:
    /// simple and always right.
    pub fn flush_asid(&mut self, asid: u16) {
        let _ = asid;
        // SAFETY: TLB maintenance has no effect on memory contents.
        unsafe { asm!("dsb ishst", "tlbi alle1is", "dsb ish", "isb") };
    }

    /// Forgets the translation of one page of `asid` (see `flush_asid`).
    pub fn flush_page(&mut self, asid: u16, _vaddr: u64) {
        self.flush_asid(asid);
    }
}

fn line_size() -> u64 {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr) };
    4 << ((ctr >> 16) & 0xf)
}

/// Which data cache operation to apply by address.
#[derive(Clone, Copy)]
pub enum CacheOp {
    Clean,
    Invalidate,
    CleanInvalidate,
    Unify,
}

/// Applies `op` to `[paddr, paddr + len)` (identity mapped).
pub fn cache_range(op: CacheOp, paddr: u64, len: u64) {
    let line = line_size();
    let mut a = paddr & !(line - 1);
    while a < paddr + len {
        // SAFETY: cache maintenance by VA on identity-mapped RAM: it moves
        // data between cache and memory (or drops clean lines), which the
        // caller asked for on memory the user owns.
        unsafe {
            match op {
                CacheOp::Clean => asm!("dc cvac, {}", in(reg) a),
                CacheOp::Invalidate => asm!("dc ivac, {}", in(reg) a),
                CacheOp::CleanInvalidate => asm!("dc civac, {}", in(reg) a),
                CacheOp::Unify => asm!("dc cvau, {}", in(reg) a),
            }
        }
        a += line;
    }
    // SAFETY: barriers and instruction cache invalidation.
    unsafe {
        asm!("dsb ish");
        if matches!(op, CacheOp::Unify) {
            asm!("ic iallu", "dsb ish", "isb");
        }
    }
}
