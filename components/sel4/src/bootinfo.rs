//! The root task's boot info: which slots hold what, the untypeds with
//! their physical ranges, and the boot modules, mapped read-only in the
//! root task's address space.
//!
//! A [`BootInfo`] exists only behind a [`BootInfoPtr`], whose unsafe
//! constructor is where the program vouches that the address is the one
//! the kernel passed; the rest (module contents included) is safe.

use core::ops::Deref;
use core::slice;

use crate::init_thread::SlotRegion;
use crate::{FrameObjectType, IpcBuffer, cap_type, sys};

/// The address of the boot info, as the kernel passes it in `x0`.
#[derive(Debug)]
pub struct BootInfoPtr {
    ptr: *const BootInfo,
}

impl BootInfoPtr {
    /// # Safety
    ///
    /// `ptr` is the boot-info address the kernel started the root task
    /// with; the boot-info pages and the module mappings stay mapped, and
    /// unchanged, while the returned value is in use.
    ///
    /// # Panics
    ///
    /// If `ptr` is not page aligned.
    pub unsafe fn new(ptr: *const BootInfo) -> Self {
        assert_eq!(ptr.align_offset(FrameObjectType::GRANULE.bytes()), 0, "boot info misaligned");
        BootInfoPtr { ptr }
    }

    pub fn ptr(&self) -> *const BootInfo {
        self.ptr
    }
}

impl Deref for BootInfoPtr {
    type Target = BootInfo;

    fn deref(&self) -> &BootInfo {
        // SAFETY: `new`'s caller vouched for the pointer and the mapping.
        unsafe { &*self.ptr }
    }
}

/// The boot-info record (`seL4_BootInfo` and the module list).
#[repr(transparent)]
pub struct BootInfo(sys::BootInfo);

impl BootInfo {
    #[cfg(test)]
    pub(crate) fn from_sys_ref(inner: &sys::BootInfo) -> &BootInfo {
        // SAFETY: `BootInfo` is a `repr(transparent)` wrapper of it.
        unsafe { &*(inner as *const sys::BootInfo).cast() }
    }

    pub fn inner(&self) -> &sys::BootInfo {
        &self.0
    }

    /// Where the root task's IPC buffer is mapped.
    pub fn ipc_buffer(&self) -> *mut IpcBuffer {
        self.0.ipc_buffer as *mut IpcBuffer
    }

    /// The empty slots of the root CNode.
    pub fn empty(&self) -> SlotRegion<cap_type::Null> {
        SlotRegion::from_sys(self.0.empty)
    }

    /// The frames of the root task's own image.
    pub fn user_image_frames(&self) -> SlotRegion<cap_type::Granule> {
        SlotRegion::from_sys(self.0.user_image_frames)
    }

    /// The page tables of the root task's address space.
    pub fn user_image_paging(&self) -> SlotRegion<cap_type::PageTable> {
        SlotRegion::from_sys(self.0.user_image_paging)
    }

    /// The untyped caps, in the order of [`BootInfo::untyped_list`].
    pub fn untyped(&self) -> SlotRegion<cap_type::Untyped> {
        SlotRegion::from_sys(self.0.untyped)
    }

    /// What each untyped of [`BootInfo::untyped`] covers.
    pub fn untyped_list(&self) -> &[UntypedDesc] {
        let descs = self.0.untypeds();
        // SAFETY: `UntypedDesc` is a `repr(transparent)` wrapper of
        // `sys::UntypedDesc`, so the slices have the same layout.
        unsafe { slice::from_raw_parts(descs.as_ptr().cast(), descs.len()) }
    }

    /// The root CNode has 2^this slots.
    pub fn init_thread_cnode_size_bits(&self) -> usize {
        self.0.init_thread_cnode_size_bits as usize
    }

    /// The boot modules, in image order.
    pub fn modules(&self) -> impl Iterator<Item = Module<'_>> {
        self.0.modules().map(|(name, cmdline, desc)| Module { name, cmdline, desc })
    }

    /// The first module called `name`.
    pub fn module(&self, name: &str) -> Option<Module<'_>> {
        self.modules().find(|m| m.name == name)
    }
}

/// One untyped: its physical range and whether it is device memory.
#[repr(transparent)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UntypedDesc(sys::UntypedDesc);

impl UntypedDesc {
    pub fn inner(&self) -> &sys::UntypedDesc {
        &self.0
    }

    pub fn paddr(&self) -> usize {
        self.0.paddr as usize
    }

    /// Size, log2 bytes.
    pub fn size_bits(&self) -> usize {
        self.0.size_bits.into()
    }

    /// Device memory (MMIO) rather than RAM: only frames can be made of it.
    pub fn is_device(&self) -> bool {
        self.0.is_device != 0
    }
}

/// A boot module.
#[derive(Copy, Clone, Debug)]
pub struct Module<'a> {
    name: &'a str,
    cmdline: &'a str,
    desc: &'a sys::ModuleDesc,
}

impl<'a> Module<'a> {
    pub fn name(&self) -> &'a str {
        self.name
    }

    pub fn cmdline(&self) -> &'a str {
        self.cmdline
    }

    /// Flags from the image's module table.
    pub fn flags(&self) -> u32 {
        self.desc.flags
    }

    /// Where the module is mapped (page aligned).
    pub fn vaddr(&self) -> usize {
        self.desc.vaddr as usize
    }

    pub fn size(&self) -> usize {
        self.desc.size as usize
    }

    /// The caps of the frames backing it, in address order.
    pub fn frames(&self) -> SlotRegion<cap_type::Granule> {
        SlotRegion::from_sys(self.desc.frames)
    }

    /// The module's contents, where the kernel mapped them.
    pub fn data(&self) -> &'a [u8] {
        if self.size() == 0 {
            return &[];
        }
        // SAFETY: a `Module` comes from a `BootInfo` behind a `BootInfoPtr`,
        // whose creator vouched that the kernel's module mappings (`size`
        // bytes, read-only, at `vaddr`) stay in place while it is used.
        unsafe { slice::from_raw_parts(self.vaddr() as *const u8, self.size()) }
    }
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;
    use std::vec::Vec;

    use super::*;

    fn sample() -> Box<sys::BootInfo> {
        // SAFETY: `sys::BootInfo` is integers and arrays of integers only,
        // for which all-zero bytes are valid.
        let mut bi: Box<sys::BootInfo> = Box::new(unsafe { core::mem::zeroed() });
        bi.empty = sys::SlotRegion { start: 40, end: 8192 };
        bi.untyped = sys::SlotRegion { start: 30, end: 32 };
        bi.untyped_list[0] =
            sys::UntypedDesc { paddr: 0x4000_0000, size_bits: 20, ..Default::default() };
        bi.untyped_list[1] = sys::UntypedDesc {
            paddr: 0x900_0000,
            size_bits: 12,
            is_device: 1,
            ..Default::default()
        };
        bi.strings[..15].copy_from_slice(b"kernelroot-task");
        bi.num_modules = 2;
        bi.module_list[0] = sys::ModuleDesc { name_len: 6, ..Default::default() };
        let data: &'static [u8] = b"hello";
        bi.module_list[1] = sys::ModuleDesc {
            vaddr: data.as_ptr() as u64,
            size: 5,
            frames: sys::SlotRegion { start: 12, end: 13 },
            name_off: 6,
            name_len: 9,
            ..Default::default()
        };
        bi
    }

    #[test]
    fn slots_and_untypeds() {
        let raw = sample();
        let bi = BootInfo::from_sys_ref(&raw);
        assert_eq!((bi.empty().start(), bi.empty().len()), (40, 8152));
        assert_eq!(bi.untyped().index(1).cptr_bits(), 31);
        let uts: Vec<_> =
            bi.untyped_list().iter().map(|u| (u.paddr(), u.size_bits(), u.is_device())).collect();
        assert_eq!(uts, [(0x4000_0000, 20, false), (0x900_0000, 12, true)]);
    }

    #[test]
    fn modules() {
        let raw = sample();
        let bi = BootInfo::from_sys_ref(&raw);
        let names: Vec<_> = bi.modules().map(|m| m.name()).collect();
        assert_eq!(names, ["kernel", "root-task"]);
        let m = bi.module("root-task").unwrap();
        assert_eq!((m.data(), m.frames().start()), (&b"hello"[..], 12));
        assert_eq!(bi.module("kernel").unwrap().data(), b"");
        assert!(bi.module("nope").is_none());
    }
}
