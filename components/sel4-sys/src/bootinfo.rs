//! The root task's initial capabilities and its boot-info pages.
//!
//! The kernel starts the root task with `x0` = the virtual address of
//! [`BootInfo`]. Its CNode holds the initial caps at fixed slots
//! ([`InitialCap`]), then, in the ranges the record names, the frames of
//! the boot modules (mapped read-only in its address space), then the
//! untypeds; the rest of the CNode is empty.

/// Fixed slots of the root task's CNode (seL4's numbering).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialCap {
    Null = 0,
    InitThreadTcb = 1,
    InitThreadCNode = 2,
    InitThreadVSpace = 3,
    IrqControl = 4,
    AsidControl = 5,
    InitThreadAsidPool = 6,
    IoPortControl = 7,
    IoSpace = 8,
    BootInfoFrame = 9,
    InitThreadIpcBuffer = 10,
    Domain = 11,
}

/// The first slot after the fixed ones.
pub const NUM_INITIAL_CAPS: u64 = 12;
/// The root task's CNode has 2^this slots.
pub const ROOT_CNODE_SIZE_BITS: u64 = 13;

/// Slots `[start, end)` of the root task's CNode.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotRegion {
    pub start: u64,
    pub end: u64,
}

impl SlotRegion {
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }
    pub const fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One untyped cap of the boot info (`seL4_UntypedDesc`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UntypedDesc {
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: u8,
    /// `padding[0]`: [`UNTYPED_VGIC_CPU`] marks this kernel's extension.
    pub padding: [u8; 6],
}

/// `UntypedDesc::padding[0]` of the device untyped holding the GIC's
/// virtual CPU interface (GICV): every VM maps it, so the root task hands
/// it out as frames, which can be shared, not as untyped memory.
pub const UNTYPED_VGIC_CPU: u8 = 1;

/// One boot module: where the root task finds it mapped, and the caps of
/// its frames.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ModuleDesc {
    /// Virtual address in the root task (page aligned) and size in bytes.
    pub vaddr: u64,
    pub size: u64,
    /// Slots of the frames backing it, in address order.
    pub frames: SlotRegion,
    /// Name and command line: offsets into [`BootInfo::strings`].
    pub name_off: u32,
    pub name_len: u32,
    pub cmdline_off: u32,
    pub cmdline_len: u32,
    /// Flags from the image's module table (kernel, roottask, data, ...).
    pub flags: u32,
    pub _pad: u32,
}

pub const MAX_BOOTINFO_UNTYPED_CAPS: usize = 230;
pub const MAX_BOOTINFO_MODULES: usize = 64;
pub const BOOTINFO_STRINGS: usize = 8192;

/// The boot-info record (`seL4_BootInfo`, then this kernel's module list).
#[repr(C)]
pub struct BootInfo {
    pub extra_len: u64,
    pub node_id: u64,
    pub num_nodes: u64,
    pub num_io_pt_levels: u64,
    /// Virtual address of the root task's IPC buffer.
    pub ipc_buffer: u64,
    /// Empty slots of the root CNode.
    pub empty: SlotRegion,
    pub shared_frames: SlotRegion,
    /// Frames holding the root task's own image.
    pub user_image_frames: SlotRegion,
    /// Page tables of the root task's address space.
    pub user_image_paging: SlotRegion,
    pub io_space_caps: SlotRegion,
    pub extra_bi_pages: SlotRegion,
    pub init_thread_cnode_size_bits: u64,
    pub init_thread_domain: u64,
    pub untyped: SlotRegion,
    pub untyped_list: [UntypedDesc; MAX_BOOTINFO_UNTYPED_CAPS],
    /// Every boot module (the kernel's and the root task's ELF files too).
    pub modules: SlotRegion,
    pub num_modules: u64,
    pub module_list: [ModuleDesc; MAX_BOOTINFO_MODULES],
    pub strings: [u8; BOOTINFO_STRINGS],
}

/// Pages the boot info occupies (mapped from [`BootInfo`]'s address on).
pub const BOOTINFO_PAGES: usize = core::mem::size_of::<BootInfo>().div_ceil(4096);

impl BootInfo {
    /// The untyped descriptors in use.
    pub fn untypeds(&self) -> &[UntypedDesc] {
        let n = (self.untyped.len() as usize).min(MAX_BOOTINFO_UNTYPED_CAPS);
        &self.untyped_list[..n]
    }

    fn string(&self, off: u32, len: u32) -> &str {
        let end = (off as usize).saturating_add(len as usize).min(BOOTINFO_STRINGS);
        let start = (off as usize).min(end);
        core::str::from_utf8(&self.strings[start..end]).unwrap_or("")
    }

    /// The modules as (name, command line, descriptor).
    pub fn modules(&self) -> impl Iterator<Item = (&str, &str, &ModuleDesc)> {
        let n = (self.num_modules as usize).min(MAX_BOOTINFO_MODULES);
        self.module_list[..n].iter().map(|m| {
            (self.string(m.name_off, m.name_len), self.string(m.cmdline_off, m.cmdline_len), m)
        })
    }
}
