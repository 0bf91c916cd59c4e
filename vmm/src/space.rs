//! The vmm's own CSpace and the guest's memory: slots, objects made from
//! the vmm's `mem`, frames mapped into the guest's stage-2 VSpace (and
//! guest RAM also into the vmm's own VSpace, to load the guest).

use alloc::format;
use alloc::string::String;

use program_env::slot;
use sel4::{AbsoluteCPtr, CPtr, CapRights, Error, ObjectBlueprint, VmAttributes, cap};

/// The vmm's CNode.
pub fn own_cnode() -> cap::CNode {
    CPtr::from_bits(slot::CNODE).cast()
}

/// The path of slot `s` of the vmm's CNode.
pub fn at(s: u64) -> AbsoluteCPtr {
    own_cnode().absolute_cptr_from_bits_with_depth(s, program_env::CNODE_BITS)
}

/// The cap in slot `s`.
pub fn cap_at<T: sel4::CapType>(s: u64) -> sel4::Cap<T> {
    CPtr::from_bits(s).cast()
}

/// Where guest RAM is mapped in the vmm's own address space.
pub const RAM_WINDOW: u64 = 0x20_0000_0000;
/// 2 MiB: guest RAM is mapped in large pages.
pub const LARGE: u64 = 2 << 20;

/// Free slots above the named caps, and the untyped objects come from.
pub struct Space {
    next: u64,
    mem: cap::Untyped,
}

impl Space {
    pub fn new(mem: cap::Untyped) -> Space {
        Space { next: slot::NAMED_END, mem }
    }

    /// `n` consecutive free slots; the first.
    pub fn slots(&mut self, n: u64) -> Result<u64, String> {
        if self.next + n > slot::END {
            return Err(format!("the vmm's CNode is full ({n} more slots wanted)"));
        }
        self.next += n;
        Ok(self.next - n)
    }

    /// One object of kind `bp` from `ut` into a new slot.
    pub fn make_from(&mut self, ut: cap::Untyped, bp: ObjectBlueprint) -> Result<u64, String> {
        let s = self.slots(1)?;
        let me = own_cnode().absolute_cptr_for_self();
        ut.untyped_retype(&bp, &me, s as usize, 1)
            .map_err(|e| format!("making a {bp:?}: {e:?} (the vmm's `mem` is used up?)"))?;
        Ok(s)
    }

    /// One object of kind `bp` from the vmm's `mem`.
    pub fn make(&mut self, bp: ObjectBlueprint) -> Result<u64, String> {
        self.make_from(self.mem, bp)
    }

    /// `n` objects of kind `bp` from `ut` into consecutive new slots; the
    /// first.
    pub fn make_many(
        &mut self,
        ut: cap::Untyped,
        bp: ObjectBlueprint,
        n: u64,
    ) -> Result<u64, String> {
        let first = self.slots(n)?;
        let me = own_cnode().absolute_cptr_for_self();
        let mut done = 0;
        while done < n {
            let k = (n - done).min(256);
            ut.untyped_retype(&bp, &me, (first + done) as usize, k as usize)
                .map_err(|e| format!("making {n} {bp:?} objects: {e:?}"))?;
            done += k;
        }
        Ok(first)
    }

    /// A copy of the cap in slot `s`, in a new slot.
    pub fn copy(&mut self, s: u64) -> Result<u64, String> {
        let d = self.slots(1)?;
        at(d).copy(&at(s), CapRights::all()).map_err(|e| format!("copying a cap: {e:?}"))?;
        Ok(d)
    }

    /// Maps the frame in slot `frame` at `vaddr` of `vspace`, making page
    /// tables from `mem` as the walk needs them.
    pub fn map<T: sel4::CapTypeForFrameObject>(
        &mut self,
        vspace: cap::VSpace,
        frame: sel4::Cap<T>,
        vaddr: u64,
        rights: CapRights,
        attrs: VmAttributes,
    ) -> Result<(), String> {
        let mut tables = 0;
        loop {
            match frame.frame_map(vspace, vaddr as usize, rights, attrs) {
                Ok(()) => return Ok(()),
                Err(Error::FailedLookup) if tables < 3 => {
                    let pt: cap::PageTable = cap_at(self.make(ObjectBlueprint::PageTable)?);
                    pt.page_table_map(vspace, vaddr as usize, VmAttributes::DEFAULT)
                        .map_err(|e| format!("mapping a page table at {vaddr:#x}: {e:?}"))?;
                    tables += 1;
                }
                Err(e) => return Err(format!("mapping a frame at {vaddr:#x}: {e:?}")),
            }
        }
    }
}

/// Guest RAM: large frames made from the `ram` untyped, mapped at `base` in
/// the guest and at [`RAM_WINDOW`] in the vmm.
pub struct GuestRam {
    pub base: u64,
    pub size: u64,
    /// Slot of the first frame (the vmm's copies follow in another run).
    first: u64,
}

impl GuestRam {
    /// Makes the frames of `ram` (`size` bytes) and maps them: in the guest
    /// at `base`, or at the RAM's own physical address with `identity`.
    pub fn new(
        sp: &mut Space,
        ram: cap::Untyped,
        size: u64,
        base: Option<u64>,
        guest: cap::VSpace,
    ) -> Result<GuestRam, String> {
        if size < LARGE {
            return Err(format!("guest RAM of {size:#x} bytes is too small (at least 2 MiB)"));
        }
        let n = size / LARGE;
        let first = sp.make_many(ram, ObjectBlueprint::LargePage, n)?;
        let frame0: cap::LargePage = cap_at(first);
        let paddr = frame0.frame_get_address().map_err(|e| format!("frame address: {e:?}"))?;
        let base = base.unwrap_or(paddr as u64);
        if !base.is_multiple_of(LARGE) {
            return Err(format!("guest RAM base {base:#x} is not 2 MiB aligned"));
        }
        let own: cap::VSpace = cap_at(slot::VSPACE);
        for i in 0..n {
            let f: cap::LargePage = cap_at(first + i);
            sp.map(guest, f, base + i * LARGE, CapRights::read_write(), VmAttributes::DEFAULT)?;
            let c: cap::LargePage = cap_at(sp.copy(first + i)?);
            let attrs = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
            sp.map(own, c, RAM_WINDOW + i * LARGE, CapRights::read_write(), attrs)?;
        }
        Ok(GuestRam { base, size: n * LARGE, first })
    }

    /// Guest RAM as the vmm sees it.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `new` mapped `size` bytes of RAM read-write at the
        // window; nothing else in the vmm uses those addresses.
        unsafe { core::slice::from_raw_parts_mut(RAM_WINDOW as *mut u8, self.size as usize) }
    }

    /// Writes guest RAM in `[offset, offset + len)` back to memory, so the
    /// guest sees it with its MMU and caches off (Linux's boot protocol).
    pub fn clean(&self, offset: u64, len: u64) {
        let (mut o, end) = (offset & !(LARGE - 1), offset + len);
        while o < end {
            let f: cap::LargePage = cap_at(self.first + o / LARGE);
            let _ = f.frame_clean_data(0, LARGE as usize);
            o += LARGE;
        }
    }
}
