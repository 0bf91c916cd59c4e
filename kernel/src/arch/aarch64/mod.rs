//! aarch64 at EL2 without VHE: the kernel's side of the hardware.
//!
//! - `entry`: `_start`, from bootstrap.
//! - `vectors.S`: exception vectors, user register save and restore.
//! - `memcpy.S`: the kernel's memcpy (word-sized copies in 16-byte steps).
//! - `trap`: what each exception from a user thread becomes in the kernel
//!   core (syscall, VM fault, user exception, IRQ, FP first use).
//! - `vm`: stage-2 VSpaces, EL2 controls, TLB and cache maintenance.
//! - `gic`, `timer`, `platform`: interrupts, the tick, device tree lookup.
//!
//! FP/SIMD state is switched lazily: on entry from a thread whose FP unit
//! is live its registers are saved into its TCB; on the way out they stay
//! live only when the same thread continues; any other thread traps on its
//! first FP instruction and gets its own state loaded then.

mod gic;
mod platform;
mod timer;
mod trap;
mod vcpu;
mod vm;

use core::arch::asm;
use core::mem::MaybeUninit;
use kernel_core::{Arch, Kernel};

pub use platform::{Platform, discover};

core::arch::global_asm!(include_str!("vectors.S"));
core::arch::global_asm!(include_str!("memcpy.S"));

core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    msr daifset, #0xf",
    "    ldr x1, =__stack_top",
    "    mov sp, x1",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "0:  cmp x1, x2",
    "    b.hs 1f",
    "    str xzr, [x1], #8",
    "    b 0b",
    "1:  bl kernel_entry",
    "2:  wfe",
    "    b 2b",
);

unsafe extern "C" {
    static el2_vectors: u8;
    fn restore_user(ctx: *const kernel_core::UserContext) -> !;
    fn restore_user_same(ctx: *const kernel_core::UserContext) -> !;
    fn fpu_save(state: *mut kernel_core::FpuState);
    fn fpu_restore(state: *const kernel_core::FpuState);
}

/// Entered from `_start` with the boot-info address bootstrap passed in x0.
#[unsafe(no_mangle)]
extern "C" fn kernel_entry(bootinfo: u64) -> ! {
    if bootinfo == 0 || !bootinfo.is_multiple_of(8) {
        power_off();
    }
    // SAFETY: bootstrap passes the address of a boot-info record it wrote
    // into reserved RAM and never touches again; `boot` checks its magic,
    // version and size before using it.
    let bi = unsafe { &*(bootinfo as *const bootimage::handoff::BootInfo) };
    crate::boot(bi)
}

/// The exception level the kernel runs at.
pub use vm::export_pmu;

pub fn current_el() -> u64 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) el) };
    (el >> 2) & 3
}

/// PSCI function ID of `SYSTEM_OFF` (SMCCC, 32-bit).
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

/// Powers the machine off through PSCI.
pub fn power_off() -> ! {
    // SAFETY: an SMC to the PSCI firmware with a function it defines; it
    // does not return.
    unsafe { asm!("smc #0", in("x0") PSCI_SYSTEM_OFF, options(noreturn)) }
}

/// The hardware the kernel core drives through [`Arch`].
pub struct Aarch64 {
    gic: gic::Gic,
    vmids: vm::Vmids,
    vcpu: vcpu::VcpuHw,
    timer_irq: u32,
    /// The thread whose FP/SIMD state is in the registers (null: none).
    /// It stays there across kernel entries and switches; another thread's
    /// first FP use traps, saves it and loads that thread's (lazy FP).
    fpu_owner: *mut kernel_core::FpuState,
    /// Whether lower-EL FP use traps now (CPTR_EL2.TFP).
    fpu_trapped: bool,
    /// The thread the last exit ran, and the kernel's space epoch then: if
    /// both are unchanged, so are its VSpace and FP trap, and the exit goes
    /// straight back.
    last_thread: u64,
    last_epoch: u64,
}

impl Aarch64 {
    /// Brings up the GIC, the timer and the EL2 controls.
    ///
    /// # Safety
    /// `p` must describe this machine; call once, at boot.
    pub unsafe fn init(p: &Platform) -> Aarch64 {
        // SAFETY: the device tree names these as the GIC's registers.
        let mut gic = unsafe { gic::Gic::new(p.gicd, p.gicc) };
        gic.init();
        gic.set_enabled(p.hyp_timer_irq, true);
        // SAFETY: the device tree names this as the GIC's hypervisor
        // interface (or gives none: 0).
        let vcpu = unsafe { vcpu::VcpuHw::new(p.gic_regions[2].0) };
        if vcpu.list_regs() > 0 {
            gic.set_enabled(sel4_sys::vcpu::MAINTENANCE_IRQ, true);
        }
        vm::init();
        // SAFETY: the vector table is 2 KiB aligned (vectors.S).
        unsafe { asm!("msr vbar_el2, {}", "isb", in(reg) &el2_vectors as *const u8 as u64) };
        timer::init();
        Aarch64 {
            gic,
            vmids: vm::Vmids::new(),
            vcpu,
            timer_irq: p.hyp_timer_irq,
            fpu_owner: core::ptr::null_mut(),
            fpu_trapped: true,
            last_thread: 0,
            last_epoch: 0,
        }
    }

    pub fn num_irqs(&self) -> u32 {
        self.gic.lines()
    }

    pub fn timer_irq(&self) -> u32 {
        self.timer_irq
    }

    /// The interrupts the kernel keeps: the tick and, with VCPU support,
    /// the GIC maintenance interrupt and the virtual timer's.
    pub fn reserved_irqs(&self) -> ([u32; 3], usize) {
        if self.vcpu.list_regs() > 0 {
            ([self.timer_irq, sel4_sys::vcpu::MAINTENANCE_IRQ, sel4_sys::vcpu::VTIMER_IRQ], 3)
        } else {
            ([self.timer_irq, 0, 0], 1)
        }
    }
}

impl Arch for Aarch64 {
    fn putchar(&mut self, c: u8) {
        crate::console::putchar(c);
    }
    fn halt(&mut self) -> ! {
        power_off()
    }
    fn tlb_flush_asid(&mut self, asid: u16) {
        self.vmids.flush_asid(asid);
    }
    fn tlb_flush_page(&mut self, asid: u16, vaddr: u64) {
        self.vmids.flush_page(asid, vaddr);
    }
    fn cache_clean(&mut self, paddr: u64, len: u64) {
        vm::cache_range(vm::CacheOp::Clean, paddr, len);
    }
    fn cache_invalidate(&mut self, paddr: u64, len: u64) {
        vm::cache_range(vm::CacheOp::Invalidate, paddr, len);
    }
    fn cache_clean_invalidate(&mut self, paddr: u64, len: u64) {
        vm::cache_range(vm::CacheOp::CleanInvalidate, paddr, len);
    }
    fn cache_unify(&mut self, paddr: u64, len: u64) {
        vm::cache_range(vm::CacheOp::Unify, paddr, len);
    }
    fn irq_set_masked(&mut self, irq: u32, masked: bool) {
        self.gic.set_enabled(irq, !masked);
    }
    fn irq_set_edge(&mut self, irq: u32, edge: bool) {
        self.gic.set_edge(irq, edge);
    }
    fn fpu_forget(&mut self, fpu: *mut kernel_core::FpuState) {
        if self.fpu_owner == fpu {
            self.fpu_owner = core::ptr::null_mut();
        }
        // The TCB may be made again at the same address: never take the
        // fast exit for it on the strength of an old visit.
        self.last_thread = 0;
    }
    fn vcpu_list_regs(&self) -> usize {
        self.vcpu.list_regs()
    }
    fn vcpu_unload(&mut self, vcpu: *mut kernel_core::Vcpu) {
        self.vcpu.unload(vcpu, &mut self.gic);
        self.last_thread = 0;
    }
}

impl Aarch64 {
    /// Lower-EL FP use traps (true) or not, written only on change;
    /// `sync` when the kernel uses FP itself right after.
    fn set_fpu_trap(&mut self, trap: bool, sync: bool) {
        if self.fpu_trapped != trap {
            self.fpu_trapped = trap;
            vm::trap_fpu(trap, sync);
        }
    }

    /// The current thread's first FP use: the registers become its own.
    pub(crate) fn fpu_take(&mut self, fpu: *mut kernel_core::FpuState) {
        if self.fpu_owner != fpu {
            self.set_fpu_trap(false, true);
            if !self.fpu_owner.is_null() {
                // SAFETY: the owner's FP state area in its TCB, which
                // `fpu_forget` keeps from being stale.
                unsafe { fpu_save(self.fpu_owner) };
            }
            // SAFETY: the current thread's FP state area in its TCB.
            unsafe { fpu_restore(fpu) };
            self.fpu_owner = fpu;
        }
        self.set_fpu_trap(false, false);
    }
}

type K = Kernel<Aarch64>;

/// ESR of an instruction abort from EL0: translation fault, level 0.
const NO_MAPPING_FSR: u64 = (0x20 << 26) | (1 << 25) | 0x04;

/// The kernel: created once at boot, then used by one exception at a time
/// (single core, interrupts masked in the kernel).
static mut KERNEL: MaybeUninit<K> = MaybeUninit::uninit();

/// Installs the booted kernel and runs its first thread.
pub fn start(k: K) -> ! {
    // SAFETY: called once, before any exception can reach `kernel()`.
    unsafe { (*core::ptr::addr_of_mut!(KERNEL)).write(k) };
    leave()
}

fn kernel() -> &'static mut K {
    // SAFETY: `start` initialised it before enabling any path here; one
    // exception is handled at a time, so references never overlap.
    unsafe { (*core::ptr::addr_of_mut!(KERNEL)).assume_init_mut() }
}

/// Runs the current thread (or idles until there is one).
#[inline(always)]
fn leave() -> ! {
    let k = kernel();
    let (cur, epoch) = (k.current_id(), k.space_epoch());
    let a = k.arch();
    if cur == a.last_thread && epoch == a.last_epoch {
        let ctx = k.current_context();
        // SAFETY: the current thread's context, filled by the core; its
        // VSpace, FP trap and EL0 system registers are as the last exit set
        // them (the space epoch moves whenever the core changes the latter).
        unsafe { restore_user_same(ctx) }
    }
    leave_switching()
}

/// [`leave`] to another thread than the last one (kept out of line so the
/// same-thread exit has no prologue).
#[inline(never)]
fn leave_switching() -> ! {
    let k = kernel();
    let (cur, epoch) = (k.current_id(), k.space_epoch());
    let ctx = k.current_context();
    if k.current_is_idle() {
        idle(k)
    }
    let Some((root, asid)) = k.current_vspace() else {
        // A thread without a valid VSpace faults on its first instruction
        // fetch, as on seL4 (which runs it on an empty address space).
        // SAFETY: the current thread's saved context.
        let pc = unsafe { (*k.current_context()).pc };
        k.handle_vm_fault(pc, true, NO_MAPPING_FSR);
        leave()
    };
    let fpu = k.current_fpu();
    let vcpu = k.current_vcpu_of_thread();
    let a = k.arch();
    a.vmids.switch_to(root, asid);
    a.set_fpu_trap(fpu != a.fpu_owner, false);
    a.last_thread = cur;
    a.last_epoch = epoch;
    // One test on the common path: a native thread after a native thread.
    if !vcpu.is_null() || a.vcpu.is_enabled() {
        vcpu_switch(a, vcpu);
    }
    // SAFETY: the current thread's context, filled by the core.
    unsafe { restore_user(ctx) }
}

/// Loads and enables `vcpu`, or (null) disables the enabled one.
#[inline(never)]
fn vcpu_switch(a: &mut Aarch64, vcpu: *mut kernel_core::Vcpu) {
    if vcpu.is_null() {
        a.vcpu.native(&mut a.gic);
    } else {
        a.vcpu.switch_to(vcpu, &mut a.gic);
    }
}

/// Waits for an interrupt with interrupts unmasked; the IRQ vector starts
/// over on a fresh stack, so this never returns.
fn idle(k: &mut K) -> ! {
    let a = k.arch();
    a.last_thread = 0;
    a.vcpu.native(&mut a.gic);
    loop {
        // SAFETY: unmasking IRQs at EL2 only while idle; the handler never
        // returns here.
        unsafe { asm!("msr daifclr, #2", "wfi", "msr daifset, #2") };
    }
}
