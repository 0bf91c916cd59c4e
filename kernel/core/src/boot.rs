//! Booting the kernel and creating the root task's world (seL4's
//! `kernel/boot.c` and `arch/arm/kernel/boot.c`).
//!
//! From the free RAM the caller describes, the kernel carves its boot
//! objects: the root CNode (2^13 slots), the root TCB and the idle thread,
//! the IRQ node, the root VSpace with its page tables, the ASID pool, the
//! IPC buffer and the boot-info pages. It maps into the root VSpace:
//!
//! ```text
//!  root.vaddr          image, RWX (4 KiB frames, 2 MiB where aligned)
//!  image end           IPC buffer, RW XN (one page)
//!  + 4 KiB             boot info, RW XN (BOOTINFO_PAGES pages)
//!  then, upwards       each boot module, RO XN, at an address congruent
//!                      to its physical address modulo 2 MiB
//! ```
//!
//! Frames of the image and of each module are 4 KiB pages up to the first
//! 2 MiB boundary (virtual and physical alike), 2 MiB frames while whole
//! ones fit, then 4 KiB pages. The root CNode gets, after the fixed caps of
//! [`sel4_sys::InitialCap`]: the page tables, the image frames, the extra
//! boot-info pages, the module frames, then the untypeds: every remaining
//! free byte as the largest naturally aligned blocks, then every device
//! region as device untypeds. The caller leaves out of the device regions
//! whatever the kernel itself drives.

use crate::bootmem::{
    Builder, FreeMem, LARGE, PAGE, ROOT_ASID, frames, init_tcb, untyped_blocks, write_cte,
    write_slot,
};
use crate::cap::{Cap, Cte, SlotRef, VmRights};
use crate::cdt::{cte_insert, derive_cap, setup_reply_master};
use crate::irq::{IrqState, MAX_IRQS};
use crate::object::TableRef;
use crate::print::kprint;
use crate::sched::SchedulerAction;
use crate::tcb::{TCB_BUFFER, TCB_CTABLE, TCB_OFFSET, TCB_VTABLE, TcbQueue, TcbRef, ThreadState};
use crate::{Arch, Kernel};
use core::fmt;
use sel4_sys::bootinfo::{
    BOOTINFO_PAGES, BOOTINFO_STRINGS, BootInfo, InitialCap, MAX_BOOTINFO_MODULES,
    MAX_BOOTINFO_UNTYPED_CAPS, ModuleDesc, NUM_INITIAL_CAPS, ROOT_CNODE_SIZE_BITS, SlotRegion,
    UntypedDesc,
};
use sel4_sys::object::{
    ASID_POOL_BITS, ASID_POOL_INDEX_BITS, NUM_PRIORITIES, PAGE_BITS, SLOT_BITS, TCB_BITS,
    USER_VADDR_BITS, VSPACE_BITS,
};

/// A physical memory range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemRegion {
    /// Physical start address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

impl MemRegion {
    /// The region of `size` bytes at `base`.
    pub const fn new(base: u64, size: u64) -> Self {
        MemRegion { base, size }
    }
    /// First address past the region.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// The root task's image, loaded physically contiguous; addresses and size
/// page aligned.
#[derive(Clone, Copy, Debug, Default)]
pub struct RootImage {
    /// Physical address of the image.
    pub paddr: u64,
    /// Virtual address it is mapped at.
    pub vaddr: u64,
    /// Size in bytes (the image's memory, BSS included).
    pub size: u64,
    /// Entry point (virtual).
    pub entry: u64,
}

/// A boot module in memory (page aligned).
#[derive(Clone, Copy, Debug)]
pub struct BootModule<'a> {
    /// Name, as the boot info reports it.
    pub name: &'a str,
    /// Command line.
    pub cmdline: &'a str,
    /// Flags from the image's module table.
    pub flags: u32,
    /// Physical address (page aligned).
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What the architecture layer tells the kernel at boot.
#[derive(Clone, Copy, Debug)]
pub struct BootConfig<'a> {
    /// Free RAM: nothing in it is in use (not the kernel, the root image,
    /// the modules, the boot-info record, the device tree).
    pub ram: &'a [MemRegion],
    /// Device memory the root task may have (the kernel's own devices left
    /// out).
    pub devices: &'a [MemRegion],
    /// Base of the device region of the GIC's virtual CPU interface (0:
    /// none); its untyped is marked in the boot info.
    pub vgic_cpu: u64,
    /// The root task's image.
    pub root: RootImage,
    /// Every boot module, mapped read-only for the root task.
    pub modules: &'a [BootModule<'a>],
    /// Number of IRQ lines (at most [`MAX_IRQS`]).
    pub num_irqs: u32,
    /// IRQs the kernel uses itself (GIC maintenance ...), beside the timer.
    pub reserved_irqs: &'a [u32],
    /// The kernel's tick.
    pub timer_irq: u32,
}

/// Why boot failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootError {
    /// An address or size is not aligned as it must be.
    Misaligned { what: &'static str, value: u64 },
    /// The root task's address space cannot hold what must be mapped.
    AddressSpace { what: &'static str },
    /// Free RAM does not hold the kernel's boot objects.
    OutOfMemory { what: &'static str },
    /// Free RAM is split into more regions than the kernel can track.
    TooManyRegions,
    /// More modules than the boot info can describe.
    TooManyModules,
    /// Module names and command lines exceed the boot info's string area.
    StringsFull,
    /// The root CNode cannot hold all initial caps.
    CNodeFull,
    /// An IRQ number out of range.
    BadIrq { irq: u32 },
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BootError::Misaligned { what, value } => {
                write!(f, "{what} ({value:#x}) is not page aligned")
            }
            BootError::AddressSpace { what } => {
                write!(f, "{what} does not fit below {:#x}", 1u64 << USER_VADDR_BITS)
            }
            BootError::OutOfMemory { what } => write!(f, "not enough free RAM for {what}"),
            BootError::TooManyRegions => write!(f, "free RAM is split into too many regions"),
            BootError::TooManyModules => {
                write!(f, "more than {MAX_BOOTINFO_MODULES} boot modules")
            }
            BootError::StringsFull => {
                write!(f, "module names and command lines exceed {BOOTINFO_STRINGS} bytes")
            }
            BootError::CNodeFull => write!(
                f,
                "the root CNode (2^{ROOT_CNODE_SIZE_BITS} slots) cannot hold every frame and untyped"
            ),
            BootError::BadIrq { irq } => write!(f, "IRQ {irq} is out of range"),
        }
    }
}

fn check_page_aligned(what: &'static str, value: u64) -> Result<(), BootError> {
    if !value.is_multiple_of(PAGE) { Err(BootError::Misaligned { what, value }) } else { Ok(()) }
}

impl<A: Arch> Kernel<A> {
    /// Boots: builds the root task's world from `cfg` and makes the root
    /// thread current. See the module documentation for the layout.
    pub fn boot(arch: A, cfg: &BootConfig) -> Result<Self, BootError> {
        let root = cfg.root;
        check_page_aligned("root image physical address", root.paddr)?;
        check_page_aligned("root image virtual address", root.vaddr)?;
        check_page_aligned("root image size", root.size)?;
        for m in cfg.modules {
            check_page_aligned("module address", m.paddr)?;
        }
        if cfg.modules.len() > MAX_BOOTINFO_MODULES {
            return Err(BootError::TooManyModules);
        }
        if cfg.num_irqs as usize > MAX_IRQS {
            return Err(BootError::BadIrq { irq: cfg.num_irqs });
        }
        if cfg.timer_irq >= cfg.num_irqs {
            return Err(BootError::BadIrq { irq: cfg.timer_irq });
        }
        if let Some(&irq) = cfg.reserved_irqs.iter().find(|&&i| i >= cfg.num_irqs) {
            return Err(BootError::BadIrq { irq });
        }

        // The virtual layout.
        let image_end = root
            .vaddr
            .checked_add(root.size)
            .filter(|&e| e < 1 << USER_VADDR_BITS)
            .ok_or(BootError::AddressSpace { what: "the root image" })?;
        let ipc_vaddr = image_end;
        let bi_vaddr = ipc_vaddr + PAGE;
        let bi_size = BOOTINFO_PAGES as u64 * PAGE;
        let mut cursor = bi_vaddr + bi_size;
        let mut module_vaddrs = [0u64; MAX_BOOTINFO_MODULES];
        let mut module_sizes = [0u64; MAX_BOOTINFO_MODULES];
        for (i, m) in cfg.modules.iter().enumerate() {
            let too_big = BootError::AddressSpace { what: "the boot modules" };
            let size = m.size.checked_next_multiple_of(PAGE).ok_or(too_big)?;
            let v = cursor + (m.paddr.wrapping_sub(cursor) & (LARGE - 1));
            module_vaddrs[i] = v;
            module_sizes[i] = size;
            cursor = v.checked_add(size).filter(|&e| e <= 1 << USER_VADDR_BITS).ok_or(too_big)?;
        }

        // The kernel's boot objects.
        let mut free = FreeMem::new(cfg.ram)?;
        let cnode_bits = ROOT_CNODE_SIZE_BITS + SLOT_BITS as u64;
        let cnode = free.alloc(1 << cnode_bits, cnode_bits, "the root CNode")?;
        let irq_node_size = ((cfg.num_irqs.max(1) as u64) << SLOT_BITS).next_power_of_two();
        let irq_node = free.alloc(irq_node_size, SLOT_BITS as u64, "the IRQ node")?;
        let bi_paddr = free.alloc(bi_size, PAGE_BITS as u64, "the boot info")?;
        let vspace = free.alloc(1 << VSPACE_BITS, VSPACE_BITS as u64, "the root VSpace")?;
        let pool = free.alloc(1 << ASID_POOL_BITS, ASID_POOL_BITS as u64, "the ASID pool")?;
        let ipc_paddr = free.alloc(PAGE, PAGE_BITS as u64, "the IPC buffer")?;
        let tcb_base = free.alloc(1 << TCB_BITS, TCB_BITS as u64, "the root TCB")?;
        let idle_base = free.alloc(1 << TCB_BITS, TCB_BITS as u64, "the idle thread")?;
        for i in 0..1u64 << ROOT_CNODE_SIZE_BITS {
            write_cte(SlotRef::at(cnode, i), Cte::NULL);
        }
        for i in 0..cfg.num_irqs as u64 {
            write_cte(SlotRef::at(irq_node, i), Cte::NULL);
        }

        let mut b = Builder { free, cnode, next_slot: NUM_INITIAL_CAPS, vspace };
        let cnode_cap = Cap::CNode {
            radix: ROOT_CNODE_SIZE_BITS as u8,
            guard_size: (64 - ROOT_CNODE_SIZE_BITS) as u8,
            ptr: cnode,
            guard: 0,
        };
        let fixed = |c: InitialCap| SlotRef::at(cnode, c as u64);
        write_slot(fixed(InitialCap::InitThreadCNode), cnode_cap);
        write_slot(
            fixed(InitialCap::InitThreadVSpace),
            Cap::VSpace { asid: Some(ROOT_ASID), ptr: vspace },
        );
        write_slot(fixed(InitialCap::IrqControl), Cap::IrqControl);
        write_slot(fixed(InitialCap::AsidControl), Cap::AsidControl);
        write_slot(
            fixed(InitialCap::InitThreadAsidPool),
            Cap::AsidPool { asid_base: 0, ptr: pool },
        );
        write_slot(fixed(InitialCap::Domain), Cap::Domain);
        TableRef(pool).get()[ROOT_ASID as usize] = vspace;

        // Page tables first (one contiguous slot region), then the frames.
        let paging_start = b.next_slot;
        let plan = [
            (root.paddr, root.vaddr, root.size),
            (ipc_paddr, ipc_vaddr, PAGE),
            (bi_paddr, bi_vaddr, bi_size),
        ];
        let mods = cfg.modules.iter().zip(module_vaddrs.iter().zip(&module_sizes));
        let mods = mods.map(|(m, (&v, &size))| (m.paddr, v, size));
        for (p, v, s) in plan.into_iter().chain(mods) {
            for (_, fv, bits) in frames(p, v, s) {
                b.ensure_tables(fv, bits)?;
            }
        }
        let paging = SlotRegion { start: paging_start, end: b.next_slot };

        let image_start = b.next_slot;
        for (p, v, bits) in frames(root.paddr, root.vaddr, root.size) {
            let c = b.map_frame(p, v, bits, VmRights::ReadWrite, false);
            b.provide(c)?;
        }
        let image_frames = SlotRegion { start: image_start, end: b.next_slot };
        let ipc_cap =
            b.map_frame(ipc_paddr, ipc_vaddr, PAGE_BITS as u64, VmRights::ReadWrite, true);
        write_slot(fixed(InitialCap::InitThreadIpcBuffer), ipc_cap);
        let extra_start = b.next_slot;
        for (i, (p, v, bits)) in frames(bi_paddr, bi_vaddr, bi_size).enumerate() {
            let c = b.map_frame(p, v, bits, VmRights::ReadWrite, true);
            if i == 0 {
                write_slot(fixed(InitialCap::BootInfoFrame), c);
            } else {
                b.provide(c)?;
            }
        }
        let extra_bi = SlotRegion { start: extra_start, end: b.next_slot };

        // SAFETY: the boot-info frames were just carved out of free RAM,
        // zeroed and are physically contiguous, page aligned and
        // `BOOTINFO_PAGES` pages long, which `BootInfo` fits in.
        let bi = unsafe { &mut *(bi_paddr as *mut BootInfo) };
        bi.node_id = 0;
        bi.num_nodes = 1;
        bi.ipc_buffer = ipc_vaddr;
        bi.user_image_frames = image_frames;
        bi.user_image_paging = paging;
        bi.extra_bi_pages = extra_bi;
        bi.init_thread_cnode_size_bits = ROOT_CNODE_SIZE_BITS;
        bi.init_thread_domain = 0;

        // Modules.
        let modules_start = b.next_slot;
        let mut strings = 0usize;
        let mut add_string = |bi: &mut BootInfo, s: &str| -> Result<(u32, u32), BootError> {
            let end = strings.checked_add(s.len()).filter(|&e| e <= BOOTINFO_STRINGS);
            let end = end.ok_or(BootError::StringsFull)?;
            bi.strings[strings..end].copy_from_slice(s.as_bytes());
            let r = (strings as u32, s.len() as u32);
            strings = end;
            Ok(r)
        };
        for (i, m) in cfg.modules.iter().enumerate() {
            let (v, first) = (module_vaddrs[i], b.next_slot);
            for (p, fv, bits) in frames(m.paddr, v, module_sizes[i]) {
                let c = b.map_frame(p, fv, bits, VmRights::ReadOnly, true);
                b.provide(c)?;
            }
            let (name_off, name_len) = add_string(bi, m.name)?;
            let (cmdline_off, cmdline_len) = add_string(bi, m.cmdline)?;
            bi.module_list[i] = ModuleDesc {
                vaddr: v,
                size: m.size,
                frames: SlotRegion { start: first, end: b.next_slot },
                name_off,
                name_len,
                cmdline_off,
                cmdline_len,
                flags: m.flags,
                _pad: 0,
            };
        }
        bi.num_modules = cfg.modules.len() as u64;
        bi.modules = SlotRegion { start: modules_start, end: b.next_slot };

        // The kernel state.
        let mut k = Kernel {
            arch,
            cur: TcbRef(tcb_base + TCB_OFFSET),
            idle: TcbRef(idle_base + TCB_OFFSET),
            action: SchedulerAction::ResumeCurrent,
            ready: [TcbQueue::default(); NUM_PRIORITIES],
            ready_l1: 0,
            ready_l2: [0; NUM_PRIORITIES / 64],
            asid_table: [0; 1 << sel4_sys::object::ASID_HIGH_BITS],
            irq_node,
            irq_state: [IrqState::Inactive; MAX_IRQS],
            num_irqs: cfg.num_irqs,
            debug_tcbs: 0,
            space_epoch: 0,
            vspace_hint: (0, 0, 0, 0),
        };
        k.asid_table[0] = pool;
        const _: () = assert!(ROOT_ASID >> ASID_POOL_INDEX_BITS == 0);
        for &irq in cfg.reserved_irqs {
            k.irq_state[irq as usize] = IrqState::Reserved;
        }
        k.set_irq_state(cfg.timer_irq, IrqState::Timer);

        // The idle thread and the root thread.
        let idle = init_tcb(idle_base, b"idle");
        idle.get().state = ThreadState::Idle;
        k.debug_link(idle);
        let t = init_tcb(tcb_base, b"root");
        {
            let r = t.get();
            r.priority = (NUM_PRIORITIES - 1) as u8;
            r.mcp = (NUM_PRIORITIES - 1) as u8;
            r.context.regs[0] = bi_vaddr;
            r.context.pc = root.entry;
            r.fault_ip = root.entry;
            r.context.sp = 0;
            r.context.spsr = 0;
            r.ipc_buffer = ipc_vaddr;
            r.state = ThreadState::Running;
        }
        k.debug_link(t);
        write_slot(fixed(InitialCap::InitThreadTcb), Cap::Tcb { ptr: t.0 });
        cte_insert(cnode_cap, fixed(InitialCap::InitThreadCNode), t.slot(TCB_CTABLE));
        let vcap = fixed(InitialCap::InitThreadVSpace).cap();
        cte_insert(vcap, fixed(InitialCap::InitThreadVSpace), t.slot(TCB_VTABLE));
        let ipc_src = fixed(InitialCap::InitThreadIpcBuffer);
        if let Ok(c) = derive_cap(ipc_src, ipc_src.cap()) {
            cte_insert(c, ipc_src, t.slot(TCB_BUFFER));
        }
        setup_reply_master(t);

        // Untypeds: free RAM, then devices.
        let untyped_start = b.next_slot;
        let mut n_untyped = 0usize;
        let mut dropped = 0u64;
        let free_regions = b.free.regions;
        let ram = free_regions[..b.free.n].iter().map(|r| (r, false));
        for (r, device) in ram.chain(cfg.devices.iter().map(|r| (r, true))) {
            for (base, bits) in untyped_blocks(r.base, r.end()) {
                if n_untyped == MAX_BOOTINFO_UNTYPED_CAPS
                    || b.next_slot >= 1 << ROOT_CNODE_SIZE_BITS
                {
                    dropped += 1 << bits;
                    continue;
                }
                b.provide(Cap::Untyped { size_bits: bits as u8, device, base, free_index: 0 })?;
                bi.untyped_list[n_untyped] = UntypedDesc {
                    paddr: base,
                    size_bits: bits as u8,
                    is_device: device as u8,
                    padding: [
                        if device && cfg.vgic_cpu != 0 && base == cfg.vgic_cpu {
                            sel4_sys::bootinfo::UNTYPED_VGIC_CPU
                        } else {
                            0
                        },
                        0,
                        0,
                        0,
                        0,
                        0,
                    ],
                };
                n_untyped += 1;
            }
        }
        bi.untyped = SlotRegion { start: untyped_start, end: b.next_slot };
        bi.empty = SlotRegion { start: b.next_slot, end: 1 << ROOT_CNODE_SIZE_BITS };
        if dropped != 0 {
            kprint!(k.arch, "kernel: {dropped} bytes of memory left out (too many untypeds)\n");
        }
        Ok(k)
    }
}
