//! Scenario tests: a kernel booted on a heap arena with a recording
//! [`Arch`], driven by writing a thread's registers into
//! [`Kernel::current_context`] and calling the entry points, as the
//! exception code does on the target.
//!
//! The arena (64 MiB, 2 MiB aligned, leaked) holds the root task's image
//! (its first 64 KiB), two boot modules and the free RAM the kernel carves.

mod boot;
mod cdt_random;
mod cnode;
mod fault;
mod ipc;
mod irq;
mod notification;
mod sched;
mod tcb;
mod untyped;
mod vcpu;
mod vspace;

use crate::cap::{Cap, SlotRef};
use crate::registers::{BufRef, get_mr, set_mr};
use crate::tcb::{TcbRef, ThreadState};
use crate::{Arch, BootConfig, BootModule, Kernel, MemRegion, RootImage};
use sel4_sys::bootinfo::{BootInfo, InitialCap};
use sel4_sys::object::ObjectType;
use sel4_sys::{CapRights, Error, InvocationLabel, MessageInfo, Syscall};
use std::alloc::{Layout, alloc_zeroed};

/// Something the kernel asked of the architecture layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    FlushAsid(u16),
    FlushPage(u16, u64),
    Clean(u64, u64),
    Invalidate(u64, u64),
    CleanInvalidate(u64, u64),
    Unify(u64, u64),
    Mask(u32, bool),
    Edge(u32, bool),
    /// The core asked for this VCPU's state in memory.
    VcpuUnload(u64),
    /// The VCPU is being destroyed.
    VcpuForget(u64),
}

/// An [`Arch`] that records what it is asked.
#[derive(Default)]
pub(crate) struct TestArch {
    pub(crate) out: String,
    pub(crate) events: Vec<Event>,
}

impl Arch for TestArch {
    fn putchar(&mut self, c: u8) {
        self.out.push(c as char);
    }
    fn halt(&mut self) -> ! {
        panic!("halt: {}", self.out)
    }
    fn tlb_flush_asid(&mut self, asid: u16) {
        self.events.push(Event::FlushAsid(asid));
    }
    fn tlb_flush_page(&mut self, asid: u16, vaddr: u64) {
        self.events.push(Event::FlushPage(asid, vaddr));
    }
    fn cache_clean(&mut self, paddr: u64, len: u64) {
        self.events.push(Event::Clean(paddr, len));
    }
    fn cache_invalidate(&mut self, paddr: u64, len: u64) {
        self.events.push(Event::Invalidate(paddr, len));
    }
    fn cache_clean_invalidate(&mut self, paddr: u64, len: u64) {
        self.events.push(Event::CleanInvalidate(paddr, len));
    }
    fn cache_unify(&mut self, paddr: u64, len: u64) {
        self.events.push(Event::Unify(paddr, len));
    }
    fn irq_set_masked(&mut self, irq: u32, masked: bool) {
        self.events.push(Event::Mask(irq, masked));
    }
    fn irq_set_edge(&mut self, irq: u32, edge: bool) {
        self.events.push(Event::Edge(irq, edge));
    }
    /// A GICv2 virtual interface with 4 list registers (as QEMU's).
    fn vcpu_list_regs(&self) -> usize {
        4
    }
    fn vcpu_unload(&mut self, vcpu: *mut crate::Vcpu) {
        self.events.push(Event::VcpuUnload(vcpu as u64));
    }
    fn vcpu_forget(&mut self, vcpu: *mut crate::Vcpu) {
        self.events.push(Event::VcpuForget(vcpu as u64));
    }
}

pub(crate) const ARENA_SIZE: u64 = 64 << 20;
pub(crate) const IMAGE_VADDR: u64 = 0x40_0000;
pub(crate) const IMAGE_SIZE: u64 = 0x1_0000;
pub(crate) const ENTRY: u64 = 0x40_0100;
pub(crate) const NUM_IRQS: u32 = 64;
pub(crate) const TIMER_IRQ: u32 = 26;
pub(crate) const RESERVED_IRQ: u32 = 25;
/// Device regions (never dereferenced).
pub(crate) const DEVICES: [MemRegion; 2] =
    [MemRegion::new(0x0900_0000, 0x1000), MemRegion::new(0x1000_0000, 0x20_0000)];
/// Virtual addresses tests map thread IPC buffers at (a page table the
/// harness maps after boot).
pub(crate) const BUFFER_VADDR: u64 = 0x1000_0000;

/// A 2 MiB-aligned zeroed arena, leaked.
pub(crate) fn arena(size: u64) -> u64 {
    let layout = Layout::from_size_align(size as usize, 2 << 20).expect("layout");
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc_zeroed(layout) };
    assert!(!p.is_null());
    p as u64
}

/// A booted kernel and what tests need to drive it.
pub(crate) struct Sys {
    pub(crate) k: Kernel<TestArch>,
    pub(crate) base: u64,
    pub(crate) root: TcbRef,
    pub(crate) next_slot: u64,
    /// The untyped cptr objects are retyped from.
    pub(crate) ut: u64,
    next_buffer: u64,
    pub(crate) pc: u64,
}

/// The standard boot configuration over an arena at `base`.
pub(crate) fn config<'a>(
    base: u64,
    ram: &'a [MemRegion],
    modules: &'a [BootModule<'a>],
) -> BootConfig<'a> {
    BootConfig {
        vgic_cpu: 0,
        ram,
        devices: &DEVICES,
        root: RootImage { paddr: base, vaddr: IMAGE_VADDR, size: IMAGE_SIZE, entry: ENTRY },
        modules,
        num_irqs: NUM_IRQS,
        reserved_irqs: &[RESERVED_IRQ],
        timer_irq: TIMER_IRQ,
    }
}

pub(crate) fn modules(base: u64) -> [BootModule<'static>; 2] {
    [
        BootModule {
            name: "hello",
            cmdline: "hello --x",
            flags: 4,
            paddr: base + (1 << 20),
            size: 5000,
        },
        BootModule {
            name: "big",
            cmdline: "",
            flags: 8,
            paddr: base + (4 << 20),
            size: (2 << 20) + 8192,
        },
    ]
}

pub(crate) fn ram(base: u64) -> [MemRegion; 2] {
    [
        MemRegion::new(base + IMAGE_SIZE, (1 << 20) - IMAGE_SIZE),
        MemRegion::new(base + (8 << 20), ARENA_SIZE - (8 << 20)),
    ]
}

impl Sys {
    /// A booted kernel with a page table for thread IPC buffers mapped.
    pub(crate) fn boot() -> Sys {
        let mut s = Sys::bare();
        let pt = s.retype(ObjectType::PageTable, 0, 1);
        let vspace = InitialCap::InitThreadVSpace as u64;
        s.ok(pt, InvocationLabel::ArmPageTableMap, &[BUFFER_VADDR, 0], &[vspace]);
        s.k.arch.events.clear();
        s
    }

    /// A kernel just booted.
    pub(crate) fn bare() -> Sys {
        let base = arena(ARENA_SIZE);
        let ram = ram(base);
        let mods = modules(base);
        let k = Kernel::boot(TestArch::default(), &config(base, &ram, &mods)).expect("boot");
        let root = k.cur;
        let mut s =
            Sys { k, base, root, next_slot: 0, ut: 0, next_buffer: BUFFER_VADDR, pc: ENTRY };
        let bi = s.bootinfo();
        s.next_slot = bi.empty.start;
        let (i, _) = bi
            .untypeds()
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_device == 0)
            .max_by_key(|(_, u)| u.size_bits)
            .expect("untyped");
        s.ut = bi.untyped.start + i as u64;
        s
    }

    /// The boot info, read through its physical address.
    pub(crate) fn bootinfo(&self) -> &'static BootInfo {
        let Cap::Frame { paddr, .. } = self.slot(InitialCap::BootInfoFrame as u64).cap() else {
            panic!("no boot info frame");
        };
        // SAFETY: the boot-info frames are physically contiguous in the
        // arena, which is leaked.
        unsafe { &*(paddr as *const BootInfo) }
    }

    /// Slot `i` of the root CNode.
    pub(crate) fn slot(&self, i: u64) -> SlotRef {
        let Cap::CNode { ptr, .. } = self.root.slot(crate::tcb::TCB_CTABLE).cap() else {
            panic!("root has no CNode");
        };
        SlotRef::at(ptr, i)
    }

    pub(crate) fn cap(&self, i: u64) -> Cap {
        self.slot(i).cap()
    }

    pub(crate) fn alloc_slot(&mut self) -> u64 {
        self.next_slot += 1;
        self.next_slot - 1
    }

    /// The current thread's IPC buffer.
    pub(crate) fn buffer(&self) -> Option<BufRef> {
        self.k.lookup_ipc_buffer(false, self.k.cur)
    }

    /// Makes a system call as the current thread: `mrs` go to x2-x5 and
    /// the IPC buffer, `caps` to the buffer's extra-cap words.
    pub(crate) fn syscall(
        &mut self,
        sys: Syscall,
        cptr: u64,
        label: u64,
        mrs: &[u64],
        caps: &[u64],
    ) {
        let t = self.k.cur;
        let buf = self.buffer();
        if let Some(b) = buf {
            for (i, &c) in caps.iter().enumerate() {
                b.set_cap_or_badge(i, c);
            }
        }
        for (i, &a) in mrs.iter().enumerate() {
            set_mr(t, buf, i as u64, a);
        }
        // SAFETY: the context of the current thread, in the arena.
        let ctx = unsafe { &mut *self.k.current_context() };
        ctx.regs[0] = cptr;
        ctx.regs[1] = MessageInfo::new(label, 0, caps.len() as u64, mrs.len() as u64).0;
        ctx.regs[7] = sys as i64 as u64;
        self.pc += 8;
        ctx.pc = self.pc;
        self.k.handle_syscall(sys as i64 as u64);
    }

    /// The reply the current thread got: label, badge, message words.
    pub(crate) fn reply(&self) -> (u64, u64, Vec<u64>) {
        let t = self.k.cur;
        let info = MessageInfo(t.get().context.regs[1]);
        let buf = self.k.lookup_ipc_buffer(true, t);
        let mrs = (0..info.length()).map(|i| get_mr(t, buf, i)).collect();
        (info.label(), t.get().context.regs[0], mrs)
    }

    /// Invokes `cptr` with `Call` as the current thread, which must stay
    /// current; the reply's words, or the error and its words.
    pub(crate) fn invoke(
        &mut self,
        cptr: u64,
        label: InvocationLabel,
        args: &[u64],
        caps: &[u64],
    ) -> Result<Vec<u64>, (Error, Vec<u64>)> {
        let t = self.k.cur;
        self.syscall(Syscall::Call, cptr, label as u64, args, caps);
        assert_eq!(self.k.cur, t, "the invoking thread is no longer current");
        let (l, _, mrs) = self.reply();
        match Error::from_word(l) {
            None => Ok(mrs),
            Some(e) => Err((e, mrs)),
        }
    }

    /// [`Self::invoke`], expecting success.
    pub(crate) fn ok(
        &mut self,
        cptr: u64,
        label: InvocationLabel,
        args: &[u64],
        caps: &[u64],
    ) -> Vec<u64> {
        match self.invoke(cptr, label, args, caps) {
            Ok(m) => m,
            Err(e) => panic!("{label:?} on {cptr}: {e:?}"),
        }
    }

    /// [`Self::invoke`], expecting an error.
    pub(crate) fn err(
        &mut self,
        cptr: u64,
        label: InvocationLabel,
        args: &[u64],
        caps: &[u64],
    ) -> Error {
        match self.invoke(cptr, label, args, caps) {
            Ok(m) => panic!("{label:?} on {cptr} succeeded: {m:?}"),
            Err((e, _)) => e,
        }
    }

    /// Retypes `n` objects from the test untyped into fresh root slots;
    /// returns the first slot.
    pub(crate) fn retype(&mut self, t: ObjectType, size_bits: u64, n: u64) -> u64 {
        let first = self.next_slot;
        self.next_slot += n;
        let args = [t as u64, size_bits, 0, 0, first, n];
        self.ok(
            self.ut,
            InvocationLabel::UntypedRetype,
            &args,
            &[InitialCap::InitThreadCNode as u64],
        );
        first
    }

    /// A new thread sharing the root's CSpace and VSpace, with its own IPC
    /// buffer, at `prio`, inactive; returns its TCB cptr and TCB.
    pub(crate) fn new_thread(&mut self, prio: u8) -> (u64, TcbRef) {
        let tcb = self.retype(ObjectType::Tcb, 0, 1);
        let frame = self.retype(ObjectType::SmallPage, 0, 1);
        let vaddr = self.next_buffer;
        self.next_buffer += 0x1000;
        self.map(frame, vaddr, CapRights::read_write().0, 1);
        let cnode = InitialCap::InitThreadCNode as u64;
        let vspace = InitialCap::InitThreadVSpace as u64;
        self.ok(tcb, InvocationLabel::TcbConfigure, &[0, 0, 0, vaddr], &[cnode, vspace, frame]);
        let root_tcb = InitialCap::InitThreadTcb as u64;
        self.ok(tcb, InvocationLabel::TcbSetPriority, &[prio as u64], &[root_tcb]);
        let Cap::Tcb { ptr } = self.cap(tcb) else { panic!("no tcb") };
        (tcb, TcbRef(ptr))
    }

    /// Maps frame `frame` at `vaddr` in the root VSpace.
    pub(crate) fn map(&mut self, frame: u64, vaddr: u64, rights: u64, attr: u64) {
        let vspace = InitialCap::InitThreadVSpace as u64;
        self.ok(frame, InvocationLabel::ArmPageMap, &[vaddr, rights, attr], &[vspace]);
    }

    /// Resumes thread `tcb` (a cptr).
    pub(crate) fn resume(&mut self, tcb: u64) {
        self.ok(tcb, InvocationLabel::TcbResume, &[], &[]);
    }

    /// Signals the notification `ntfn` from the kernel side, as an
    /// interrupt would, and lets the scheduler run.
    pub(crate) fn kernel_signal(&mut self, ntfn: u64) {
        let n = crate::object::NtfnRef(self.cap(ntfn).obj_ptr());
        self.k.send_signal(n, 0);
        self.k.schedule();
        self.k.activate_thread();
    }

    /// Asserts that `t` is current.
    #[track_caller]
    pub(crate) fn expect_current(&self, t: TcbRef) {
        assert_eq!(self.k.cur, t, "current thread: {:?}", self.k.cur.get().name);
    }

    /// A new endpoint cptr.
    pub(crate) fn endpoint(&mut self) -> u64 {
        self.retype(ObjectType::Endpoint, 0, 1)
    }

    /// A new notification cptr.
    pub(crate) fn notification(&mut self) -> u64 {
        self.retype(ObjectType::Notification, 0, 1)
    }

    /// Mints `src` into a fresh slot with `rights` and `badge`.
    pub(crate) fn mint(&mut self, src: u64, rights: CapRights, badge: u64) -> u64 {
        let dest = self.alloc_slot();
        let cnode = InitialCap::InitThreadCNode as u64;
        self.ok(cnode, InvocationLabel::CNodeMint, &[dest, 64, src, 64, rights.0, badge], &[cnode]);
        dest
    }

    /// Copies `src` into a fresh slot with `rights`.
    pub(crate) fn copy(&mut self, src: u64, rights: CapRights) -> u64 {
        let dest = self.alloc_slot();
        let cnode = InitialCap::InitThreadCNode as u64;
        self.ok(cnode, InvocationLabel::CNodeCopy, &[dest, 64, src, 64, rights.0], &[cnode]);
        dest
    }

    /// The state of thread `t`.
    pub(crate) fn state(&self, t: TcbRef) -> ThreadState {
        t.state()
    }
}

/// A small deterministic random generator (xorshift64*).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
