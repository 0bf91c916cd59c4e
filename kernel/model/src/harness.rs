//! A booted `kernel-core` kernel on a host arena, driven as its root
//! thread: arguments go into the saved registers and the IPC buffer, the
//! kernel's syscall entry runs, and the reply's label is read back.
//!
//! This mirrors what the exception entry code does on the target, using
//! only `kernel-core`'s public interface; slots are read through the root
//! CNode cap found in the root thread's TCB.

use kernel_core::{Arch, BootConfig, Cap, Cte, Kernel, MemRegion, RootImage, TCB_OFFSET, Tcb};
use sel4_sys::bootinfo::{BootInfo, InitialCap};
use sel4_sys::{Error, InvocationLabel, IpcBuffer, MessageInfo, Syscall};
use std::alloc::{Layout, alloc_zeroed, dealloc};

/// Bytes of host memory the kernel boots on.
const ARENA_SIZE: u64 = 4 << 20;
/// Bytes of the root task's image at the start of the arena.
const IMAGE_SIZE: u64 = 0x1_0000;
const IMAGE_VADDR: u64 = 0x40_0000;
/// Device regions (never dereferenced).
const DEVICES: [MemRegion; 1] = [MemRegion::new(0x0900_0000, 0x1000)];

/// An [`Arch`] with no hardware behind it: output is collected, cache and
/// TLB maintenance are no-ops.
#[derive(Default)]
pub struct HostArch {
    /// What the kernel printed.
    pub out: String,
}

impl Arch for HostArch {
    fn putchar(&mut self, c: u8) {
        self.out.push(c as char);
    }
    fn halt(&mut self) -> ! {
        panic!("halt: {}", self.out)
    }
    fn tlb_flush_asid(&mut self, _asid: u16) {}
    fn tlb_flush_page(&mut self, _asid: u16, _vaddr: u64) {}
    fn cache_clean(&mut self, _paddr: u64, _len: u64) {}
    fn cache_invalidate(&mut self, _paddr: u64, _len: u64) {}
    fn cache_clean_invalidate(&mut self, _paddr: u64, _len: u64) {}
    fn cache_unify(&mut self, _paddr: u64, _len: u64) {}
    fn irq_set_masked(&mut self, _irq: u32, _masked: bool) {}
    fn irq_set_edge(&mut self, _irq: u32, _edge: bool) {}
}

/// Zeroed host memory, 2 MiB aligned, freed on drop.
struct Arena {
    base: u64,
    layout: Layout,
}

impl Arena {
    fn new(size: u64) -> Arena {
        let layout = Layout::from_size_align(size as usize, 2 << 20).expect("layout");
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        assert!(!p.is_null(), "arena allocation failed");
        Arena { base: p as u64, layout }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `Arena::new` with this layout; the kernel
        // that used it is dropped first (field order of `Host`).
        unsafe { dealloc(self.base as *mut u8, self.layout) };
    }
}

/// A booted kernel whose current thread is the root thread.
pub struct Host {
    /// The kernel.
    pub k: Kernel<HostArch>,
    /// The root CNode's slots.
    cnode: u64,
    /// The root thread's IPC buffer.
    buffer: u64,
    pc: u64,
    _arena: Arena,
}

impl Host {
    /// Boots a kernel on a fresh arena.
    pub fn boot() -> Host {
        let arena = Arena::new(ARENA_SIZE);
        let base = arena.base;
        let ram = [MemRegion::new(base + IMAGE_SIZE, ARENA_SIZE - IMAGE_SIZE)];
        let cfg = BootConfig {
            vgic_cpu: 0,
            ram: &ram,
            devices: &DEVICES,
            root: RootImage {
                paddr: base,
                vaddr: IMAGE_VADDR,
                size: IMAGE_SIZE,
                entry: IMAGE_VADDR + 0x100,
            },
            modules: &[],
            num_irqs: 64,
            reserved_irqs: &[],
            timer_irq: 26,
        };
        let mut k = Kernel::boot(HostArch::default(), &cfg).expect("boot");
        let ctx = k.current_context() as u64;
        let tcb = ctx - core::mem::offset_of!(Tcb, context) as u64;
        // SAFETY: the root TCB's CTEs precede it in its object (slot 0: the
        // CSpace root), inside the arena, which outlives this read.
        let root = unsafe { *((tcb - TCB_OFFSET) as *const Cte) }.cap;
        let Cap::CNode { ptr: cnode, .. } = root else { panic!("root has no CNode: {root:?}") };
        let mut h = Host { k, cnode, buffer: 0, pc: IMAGE_VADDR + 0x100, _arena: arena };
        let Cap::Frame { paddr, .. } = h.cap(InitialCap::InitThreadIpcBuffer as u64) else {
            panic!("no IPC buffer");
        };
        h.buffer = paddr;
        h
    }

    /// The cap in slot `i` of the root CNode.
    pub fn cap(&self, i: u64) -> Cap {
        // SAFETY: the root CNode has 2^13 slots in the arena; callers pass
        // indices below that.
        unsafe { (*((self.cnode + (i << 6)) as *const Cte)).cap }
    }

    /// The cap in the slot at address `addr`, which must lie in the arena
    /// (a stale address reads whatever the arena holds there).
    pub fn cap_at(&self, addr: u64) -> Cap {
        let (lo, hi) = (self._arena.base, self._arena.base + ARENA_SIZE);
        assert!(
            addr >= lo && addr + 64 <= hi && addr.is_multiple_of(64),
            "slot {addr:#x} outside the arena"
        );
        // SAFETY: a 64-byte aligned slot inside the arena, which lives as
        // long as `self`; the kernel is not running.
        unsafe { (*(addr as *const Cte)).cap }
    }

    /// The boot info.
    pub fn bootinfo(&self) -> &BootInfo {
        let Cap::Frame { paddr, .. } = self.cap(InitialCap::BootInfoFrame as u64) else {
            panic!("no boot info frame");
        };
        // SAFETY: the boot-info frames are contiguous in the arena, which
        // lives as long as `self`.
        unsafe { &*(paddr as *const BootInfo) }
    }

    /// Invokes `cptr` with `Call` as the root thread: `args` are the
    /// message words, `caps` the extra caps; the error, if the reply is one.
    pub fn invoke(
        &mut self,
        cptr: u64,
        label: InvocationLabel,
        args: &[u64],
        caps: &[u64],
    ) -> Result<(), Error> {
        // SAFETY: the IPC buffer frame is in the arena and no reference to
        // it is held across kernel calls.
        let buf = unsafe { &mut *(self.buffer as *mut IpcBuffer) };
        for (i, &c) in caps.iter().enumerate() {
            buf.caps_or_badges[i] = c;
        }
        for (i, &a) in args.iter().enumerate().skip(4) {
            buf.msg[i] = a;
        }
        // SAFETY: the root thread's saved context, in the arena.
        let ctx = unsafe { &mut *self.k.current_context() };
        for (i, &a) in args.iter().take(4).enumerate() {
            ctx.regs[2 + i] = a;
        }
        let info = MessageInfo::new(label as u64, 0, caps.len() as u64, args.len() as u64);
        ctx.regs[0] = cptr;
        ctx.regs[1] = info.0;
        ctx.regs[7] = Syscall::Call as i64 as u64;
        self.pc += 8;
        ctx.pc = self.pc;
        self.k.handle_syscall(Syscall::Call as i64 as u64);
        // SAFETY: as above; the root thread is still current.
        let ctx = unsafe { &*self.k.current_context() };
        match Error::from_word(MessageInfo(ctx.regs[1]).label()) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Makes the message-less system call `sys` on `cptr` as the root
    /// thread; the badge register (x0) afterwards.
    pub fn syscall(&mut self, sys: Syscall, cptr: u64) -> u64 {
        // SAFETY: the root thread's saved context, in the arena.
        let ctx = unsafe { &mut *self.k.current_context() };
        ctx.regs[0] = cptr;
        ctx.regs[1] = MessageInfo::new(0, 0, 0, 0).0;
        ctx.regs[7] = sys as i64 as u64;
        self.pc += 8;
        ctx.pc = self.pc;
        self.k.handle_syscall(sys as i64 as u64);
        // SAFETY: as above; non-blocking calls leave the root thread current.
        unsafe { (*self.k.current_context()).regs[0] }
    }
}
