//! The seam to the hardware: what the portable core asks of the
//! architecture layer (console, power, TLB and cache maintenance, the
//! interrupt controller). The architecture layer implements it once; host
//! tests implement it with a recorder.

/// The architecture layer, as the kernel core uses it.
pub trait Arch {
    /// Debug console output.
    fn putchar(&mut self, c: u8);
    /// Power off (DebugHalt).
    fn halt(&mut self) -> !;
    /// TLB maintenance for stage-2 translations tagged with `asid` (used as
    /// the VMID).
    fn tlb_flush_asid(&mut self, asid: u16);
    /// TLB maintenance for one page of `asid`'s address space.
    fn tlb_flush_page(&mut self, asid: u16, vaddr: u64);
    /// Cache maintenance on a physical range (frames' cache ops).
    fn cache_clean(&mut self, paddr: u64, len: u64);
    /// Invalidate the data cache over a physical range.
    fn cache_invalidate(&mut self, paddr: u64, len: u64);
    /// Clean and invalidate the data cache over a physical range.
    fn cache_clean_invalidate(&mut self, paddr: u64, len: u64);
    /// Make instruction fetches see the data written to a physical range.
    fn cache_unify(&mut self, paddr: u64, len: u64);
    /// Interrupt controller: mask or unmask one interrupt line.
    fn irq_set_masked(&mut self, irq: u32, masked: bool);
    /// Interrupt controller: edge (true) or level (false) triggering.
    fn irq_set_edge(&mut self, irq: u32, edge: bool);
    /// The TCB whose FP/SIMD state area is `fpu` is being destroyed: the
    /// layer must not save into it any more.
    fn fpu_forget(&mut self, fpu: *mut crate::FpuState) {
        let _ = fpu;
    }
    /// Number of list registers of the GIC virtual interface (0: no
    /// virtualization support, VCPU invocations fail).
    fn vcpu_list_regs(&self) -> usize {
        0
    }
    /// If `vcpu`'s state is in the hardware, save it into the VCPU and
    /// unload it: the core is about to read or change it.
    fn vcpu_unload(&mut self, vcpu: *mut crate::Vcpu) {
        let _ = vcpu;
    }
    /// The VCPU is being destroyed: the layer must forget it.
    fn vcpu_forget(&mut self, vcpu: *mut crate::Vcpu) {
        self.vcpu_unload(vcpu);
    }
}
