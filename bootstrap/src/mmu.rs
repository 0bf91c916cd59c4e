//! The EL2 identity map bootstrap runs with, and hands to the kernel's early
//! boot code (which keeps it until it installs its own tables).
//!
//! One level-1 table of 1 GiB blocks covers a 39-bit address space:
//!
//! ```text
//!   0x00_0000_0000 - 0x00_3fff_ffff   device  (flash, GIC, UART, RTC, PCIe windows)
//!   0x00_4000_0000 - 0x3f_ffff_ffff   normal, write-back (RAM on QEMU virt)
//!   0x40_0000_0000 - 0x7f_ffff_ffff   device  (high PCIe ECAM and MMIO)
//! ```
//!
//! With the MMU off every data access is Device memory and unaligned accesses
//! fault; turning it on with this map makes compiled Rust (which may access
//! unaligned data) safe and lets the caches work while inflating modules.

use core::arch::asm;
use core::cell::UnsafeCell;

const ENTRIES: usize = 512;
const GIB: u64 = 1 << 30;
/// MAIR_EL2: attribute 0 Device-nGnRnE, attribute 1 Normal write-back.
const MAIR: u64 = 0xff << 8;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const BLOCK: u64 = 0b01;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const XN: u64 = 1 << 54;
/// TCR_EL2: T0SZ = 25 (39-bit VA, start at level 1), inner/outer write-back
/// walks, inner shareable, 4 KiB granule, 40-bit PA, RES1 bits 23 and 31.
const TCR: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (2 << 16) | (1 << 23) | (1 << 31);
/// SCTLR_EL2: M (MMU), C (data cache), I (instruction cache); A (alignment
/// check) cleared.
const SCTLR_M: u64 = 1 << 0;
const SCTLR_A: u64 = 1 << 1;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_I: u64 = 1 << 12;

#[repr(C, align(4096))]
struct Table(UnsafeCell<[u64; ENTRIES]>);

// SAFETY: bootstrap runs on one core with interrupts masked; the table is
// written once, before the MMU reads it.
unsafe impl Sync for Table {}

static L1: Table = Table(UnsafeCell::new([0; ENTRIES]));

/// First and last 1 GiB block (inclusive) mapped as normal memory.
const RAM_BLOCKS: (usize, usize) = (1, 255);

/// Builds the map and turns on the MMU and caches at EL2.
///
/// # Safety
/// Must run at EL2, once, with the MMU off, before anything relies on the
/// old (flat, uncached) view of memory being kept.
pub unsafe fn enable() {
    let table = L1.0.get();
    for i in 0..ENTRIES {
        let attrs = if (RAM_BLOCKS.0..=RAM_BLOCKS.1).contains(&i) {
            ATTR_NORMAL | SH_INNER
        } else {
            ATTR_DEVICE | XN
        };
        // SAFETY: single-threaded, the MMU is off and nothing else holds a
        // reference to the table.
        unsafe { (*table)[i] = (i as u64 * GIB) | attrs | AF | BLOCK };
    }
    // SAFETY: the table is complete and identity-maps the code running now,
    // so execution continues seamlessly when M is set.
    unsafe {
        asm!(
            "msr mair_el2, {mair}",
            "msr tcr_el2, {tcr}",
            "msr ttbr0_el2, {ttbr}",
            "dsb sy",
            "isb",
            "tlbi alle2",
            "dsb sy",
            "isb",
            "mrs {tmp}, sctlr_el2",
            "orr {tmp}, {tmp}, {set}",
            "bic {tmp}, {tmp}, {clear}",
            "msr sctlr_el2, {tmp}",
            "isb",
            mair = in(reg) MAIR,
            tcr = in(reg) TCR,
            ttbr = in(reg) table as u64,
            set = in(reg) SCTLR_M | SCTLR_C | SCTLR_I,
            clear = in(reg) SCTLR_A,
            tmp = out(reg) _,
        );
    }
}

/// Makes `len` bytes at `addr`, just written as data, visible to instruction
/// fetch: clean the data cache to the point of unification, then invalidate
/// the instruction cache.
pub fn sync_icache(addr: u64, len: u64) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr) };
    let line = 4u64 << ((ctr >> 16) & 0xf);
    let mut a = addr & !(line - 1);
    while a < addr + len {
        // SAFETY: cache maintenance by address on mapped memory only moves
        // data between cache and memory; it changes no value.
        unsafe { asm!("dc cvau, {}", in(reg) a) };
        a += line;
    }
    // SAFETY: as above; barriers and I-cache invalidation have no data effect.
    unsafe { asm!("dsb ish", "ic iallu", "dsb ish", "isb") };
}
