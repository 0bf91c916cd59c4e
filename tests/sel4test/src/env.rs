//! The test environment: where objects come from and where their caps go.
//!
//! At start the root task carves two untypeds out of the largest RAM
//! untyped of the boot info: a persistent one (page tables of the helper
//! regions, the watchdog, the RTC mapping) and the test untyped, which every
//! test retypes its objects from. The empty slots of the root CNode are
//! split the same way. After each test the environment suspends the test's
//! threads, deletes every slot the test used and revokes the test untyped,
//! so the next test starts with the untyped empty (the kernel resets an
//! untyped's free space once it has no children) and the slots free.
//!
//! Virtual addresses of the root task (its image sits at 0x400000):
//!
//! ```text
//!  0x10_0000_0000  helper threads: per helper a guard page, 4 stack pages,
//!                  a guard page, the IPC buffer page, a guard page
//!  0x10_0020_0000  persistent pages (watchdog, RTC registers)
//!  0x20_0000_0000  scratch pages of tests (page tables made per test)
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sel4::init_thread::slot;
use sel4::{
    AbsoluteCPtr, CPtr, Cap, CapRights, CapTypeForObjectOfFixedSize, Error, ObjectBlueprint,
    VmAttributes, cap, cap_type,
};
use sel4_sys::InvocationLabel;

use crate::check::{Context, Fail, TestResult};
use crate::sys::{Ipc, Msg};

/// The root task's priority while tests run; helpers default to more.
pub const ROOT_PRIO: u64 = 200;
pub const HELPER_PRIO: u64 = 220;

pub const PAGE: u64 = 4096;
pub const LARGE_PAGE: u64 = 2 << 20;
pub const HELPER_BASE: u64 = 0x10_0000_0000;
/// Pages per helper: guard, 4 stack pages, guard, IPC buffer, guard.
pub const HELPER_STRIDE: u64 = 8 * PAGE;
pub const HELPER_STACK_PAGES: u64 = 4;
pub const MAX_HELPERS: u64 = 64;
pub const PERSIST_BASE: u64 = HELPER_BASE + LARGE_PAGE;
pub const SCRATCH_BASE: u64 = 0x20_0000_0000;

/// Size of the test untyped and the persistent one, log2 bytes.
const TEST_UNTYPED_BITS: usize = 24;
const PERSIST_UNTYPED_BITS: usize = 22;
/// Slots kept for persistent objects.
const PERSIST_SLOTS: u64 = 128;

/// Reply label a helper's final `Call` to its done endpoint carries.
pub const DONE_LABEL: u64 = 0xd0e;

/// One frame of the root task's image: its cap and where it is mapped.
#[derive(Clone, Copy, Debug)]
pub struct ImageFrame {
    pub slot: u64,
    pub vaddr: u64,
    pub size_bits: usize,
}

/// A contiguous range of slots handed out in order.
#[derive(Clone, Copy, Debug)]
struct Slots {
    start: u64,
    next: u64,
    end: u64,
}

impl Slots {
    fn take(&mut self, n: u64) -> TestResult<u64> {
        if self.end - self.next < n {
            return Err(Fail(format!("out of slots ({} left, {n} wanted)", self.end - self.next)));
        }
        let s = self.next;
        self.next += n;
        Ok(s)
    }
}

/// What a finished helper left: its result word, or the fault it took.
pub type HelperOutcome = Result<u64, String>;

pub struct Env {
    /// The root task's IPC buffer, for its endpoint IPC.
    pub ipc: Ipc,
    pub cnode_bits: usize,
    persist: Slots,
    test: Slots,
    persist_ut: cap::Untyped,
    pub test_ut: cap::Untyped,
    persist_page_next: u64,
    pub image: Vec<ImageFrame>,
    /// The RTC's registers, mapped once on first use.
    rtc: Option<u64>,
    /// Every device untyped: its cap, physical address and size (log2).
    device_untypeds: Vec<(cap::Untyped, u64, usize)>,
    // Per test.
    pub(crate) helpers: u64,
    pub(crate) tcbs: Vec<cap::Tcb>,
    pub(crate) done_ep: Option<u64>,
    pub(crate) outcomes: Vec<(u64, HelperOutcome)>,
    scratch_next: u64,
}

/// The root CNode.
pub fn root_cnode() -> cap::CNode {
    slot::CNODE.cap()
}

/// `slot` of the root CNode as a CNode invocation path.
pub fn path(slot: u64) -> AbsoluteCPtr {
    root_cnode().absolute_cptr_from_bits_with_depth(slot, 64)
}

/// The cap in `slot`, typed.
pub fn cap_at<T: sel4::CapType>(slot: u64) -> Cap<T> {
    CPtr::from_bits(slot).cast()
}

impl Env {
    /// Builds the environment from the boot info.
    pub fn init(bi: &sel4::BootInfo) -> TestResult<Env> {
        // SAFETY: the kernel maps the root task's IPC buffer where the boot
        // info says for the task's lifetime; the `sel4` crate uses it only
        // inside its own calls, never across a blocking syscall of ours.
        let ipc = unsafe { Ipc::new(bi.ipc_buffer().cast()) };
        let empty = bi.empty();
        let (start, end) = (empty.start() as u64, empty.end() as u64);
        if end - start < PERSIST_SLOTS + 1024 {
            return Err(Fail(format!("only {} empty slots", end - start)));
        }
        let persist = Slots { start, next: start, end: start + PERSIST_SLOTS };
        let test = Slots { start: start + PERSIST_SLOTS, next: start + PERSIST_SLOTS, end };
        let (big, big_bits) = bi
            .untyped()
            .iter()
            .zip(bi.untyped_list())
            .filter(|(_, d)| !d.is_device())
            .max_by_key(|(_, d)| d.size_bits())
            .map(|(s, d)| (s.cap(), d.size_bits()))
            .ok_or_else(|| Fail("no RAM untyped".into()))?;
        if big_bits <= TEST_UNTYPED_BITS {
            return Err(Fail(format!("largest untyped is 2^{big_bits} bytes")));
        }
        let mut env = Env {
            ipc,
            cnode_bits: bi.init_thread_cnode_size_bits(),
            persist,
            test,
            persist_ut: big,
            test_ut: big,
            persist_page_next: 0,
            image: Vec::new(),
            rtc: None,
            device_untypeds: Vec::new(),
            helpers: 0,
            tcbs: Vec::new(),
            done_ep: None,
            outcomes: Vec::new(),
            scratch_next: SCRATCH_BASE,
        };
        // The test untyped first: it is the larger, so it is aligned.
        let t =
            env.persist_retype(big, ObjectBlueprint::Untyped { size_bits: TEST_UNTYPED_BITS })?;
        let p =
            env.persist_retype(big, ObjectBlueprint::Untyped { size_bits: PERSIST_UNTYPED_BITS })?;
        env.test_ut = cap_at(t);
        env.persist_ut = cap_at(p);
        for (s, d) in bi.untyped().iter().zip(bi.untyped_list()) {
            if d.is_device() {
                env.device_untypeds.push((s.cap(), d.paddr() as u64, d.size_bits()));
            }
        }
        // Page tables for the helper and persistent regions: the first map
        // puts a table in the VSpace's level 1, the next in level 2.
        let vspace = slot::VSPACE.cap();
        for vaddr in [HELPER_BASE, HELPER_BASE, PERSIST_BASE] {
            let pt = env.persist_retype(env.persist_ut, ObjectBlueprint::PageTable)?;
            cap_at::<cap_type::PageTable>(pt)
                .page_table_map(vspace, vaddr as usize, VmAttributes::DEFAULT)
                .ctx("mapping a page table of the helper region")?;
        }
        env.image = image_frames(bi)?;
        Ok(env)
    }

    fn persist_retype(&mut self, ut: cap::Untyped, bp: ObjectBlueprint) -> TestResult<u64> {
        let s = self.persist.take(1)?;
        ut.untyped_retype(&bp, &root_cnode().absolute_cptr_for_self(), s as usize, 1)
            .ctx("retype of a persistent object")?;
        Ok(s)
    }

    /// A persistent object.
    pub fn persist_obj<T: CapTypeForObjectOfFixedSize>(&mut self) -> TestResult<Cap<T>> {
        Ok(cap_at(self.persist_retype(self.persist_ut, T::object_blueprint())?))
    }

    /// `n` persistent pages mapped read-write, one after the other, in the
    /// persistent region (with an unmapped page after them), from `ut` (the
    /// persistent untyped if `None`); returns the first page's address.
    pub fn persist_pages(
        &mut self,
        ut: Option<cap::Untyped>,
        n: u64,
        attrs: VmAttributes,
    ) -> TestResult<(cap::Granule, u64)> {
        let vaddr = PERSIST_BASE + self.persist_page_next * PAGE;
        self.persist_page_next += n + 1;
        let mut last = cap_at(0);
        for i in 0..n {
            let s =
                self.persist_retype(ut.unwrap_or(self.persist_ut), ObjectBlueprint::SmallPage)?;
            last = cap_at::<cap_type::Granule>(s);
            last.frame_map(
                slot::VSPACE.cap(),
                (vaddr + i * PAGE) as usize,
                CapRights::read_write(),
                attrs,
            )
            .ctx("mapping a persistent page")?;
        }
        Ok((last, vaddr))
    }

    /// Where the RTC's registers are mapped.
    pub fn rtc(&mut self) -> TestResult<u64> {
        if let Some(v) = self.rtc {
            return Ok(v);
        }
        let ut = self.device_untyped(crate::tests::interrupt::RTC_PADDR)?;
        let (_, v) =
            self.persist_pages(Some(ut), 1, VmAttributes::NONE | VmAttributes::EXECUTE_NEVER)?;
        self.rtc = Some(v);
        Ok(v)
    }

    /// The 4 KiB device untyped at `paddr`.
    pub fn device_untyped(&self, paddr: u64) -> TestResult<cap::Untyped> {
        self.device_untypeds
            .iter()
            .find(|(_, p, bits)| *p == paddr && *bits == 12)
            .map(|d| d.0)
            .ok_or_else(|| Fail(format!("no 4 KiB device untyped at {paddr:#x}")))
    }

    /// The device untyped of any size that starts at `paddr` (so its first
    /// frame is the one at `paddr`), with its size (log2).
    pub fn device_untyped_at(&self, paddr: u64) -> TestResult<(cap::Untyped, usize)> {
        self.device_untypeds
            .iter()
            .find(|(_, p, _)| *p == paddr)
            .map(|d| (d.0, d.2))
            .ok_or_else(|| Fail(format!("no device untyped starts at {paddr:#x}")))
    }

    /// A free slot for this test.
    pub fn slot(&mut self) -> TestResult<u64> {
        self.test.take(1)
    }

    /// `n` consecutive free slots for this test.
    pub fn slots(&mut self, n: u64) -> TestResult<u64> {
        self.test.take(n)
    }

    /// Free slots left for this test.
    pub fn slots_left(&self) -> u64 {
        self.test.end - self.test.next
    }

    /// Retypes `n` objects from `ut` into fresh slots; returns the first.
    pub fn retype_from(
        &mut self,
        ut: cap::Untyped,
        bp: ObjectBlueprint,
        n: u64,
    ) -> TestResult<u64> {
        let s = self.slots(n)?;
        ut.untyped_retype(&bp, &root_cnode().absolute_cptr_for_self(), s as usize, n as usize)
            .map_err(|e| Fail(format!("retype of {n} {bp:?}: unexpected error {e:?}")))?;
        Ok(s)
    }

    /// Retypes one object from the test untyped.
    pub fn retype(&mut self, bp: ObjectBlueprint) -> TestResult<u64> {
        self.retype_from(self.test_ut, bp, 1)
    }

    /// An object of a fixed-size type from the test untyped.
    pub fn obj<T: CapTypeForObjectOfFixedSize>(&mut self) -> TestResult<Cap<T>> {
        Ok(cap_at(self.retype(T::object_blueprint())?))
    }

    pub fn endpoint(&mut self) -> TestResult<cap::Endpoint> {
        self.obj()
    }

    pub fn notification(&mut self) -> TestResult<cap::Notification> {
        self.obj()
    }

    pub fn tcb(&mut self) -> TestResult<cap::Tcb> {
        self.obj()
    }

    /// An untyped of 2^`bits` bytes from the test untyped.
    pub fn untyped(&mut self, bits: usize) -> TestResult<cap::Untyped> {
        Ok(cap_at(self.retype(ObjectBlueprint::Untyped { size_bits: bits })?))
    }

    /// A CNode of 2^`radix` slots from the test untyped.
    pub fn cnode(&mut self, radix: usize) -> TestResult<cap::CNode> {
        Ok(cap_at(self.retype(ObjectBlueprint::CNode { size_bits: radix })?))
    }

    /// A VSpace with an ASID from the root task's pool.
    pub fn vspace(&mut self) -> TestResult<cap::VSpace> {
        let v: cap::VSpace = self.obj()?;
        slot::ASID_POOL.cap().asid_pool_assign(v).ctx("assigning an ASID")?;
        Ok(v)
    }

    /// Copies the cap in `src` to a fresh slot with at most `rights`.
    pub fn copy(&mut self, src: u64, rights: CapRights) -> TestResult<u64> {
        let d = self.slot()?;
        path(d).copy(&path(src), rights).ctx("copy")?;
        Ok(d)
    }

    /// Mints the cap in `src` to a fresh slot with `rights` and `badge`.
    pub fn mint(&mut self, src: u64, rights: CapRights, badge: u64) -> TestResult<u64> {
        let d = self.slot()?;
        path(d).mint(&path(src), rights, badge).ctx("mint")?;
        Ok(d)
    }

    /// Whether `slot` of the root CNode is empty: moving a cap onto its own
    /// slot fails with DeleteFirst when there is one, FailedLookup when not.
    pub fn is_empty(&self, slot: u64) -> TestResult<bool> {
        match path(slot).move_(&path(slot)) {
            Err(Error::FailedLookup) => Ok(true),
            Err(Error::DeleteFirst) => Ok(false),
            r => Err(Fail(format!("probing slot {slot}: move onto itself gave {r:?}"))),
        }
    }

    /// Fails unless `slot` is empty (`want_empty`) or full.
    pub fn expect_slot(&self, slot: u64, want_empty: bool, what: &str) -> TestResult {
        let empty = self.is_empty(slot)?;
        crate::check::ensure(empty == want_empty, || {
            format!("{what}: slot {slot} is {}", if empty { "empty" } else { "occupied" })
        })
    }

    /// Invokes `cptr` with a raw message through the root task's buffer.
    pub fn invoke(&self, cptr: u64, label: InvocationLabel, args: &[u64], caps: &[u64]) -> Msg {
        self.ipc.invoke(cptr, label, args, caps)
    }

    /// Maps `frame` at `vaddr` of `vspace`, making the page tables it needs
    /// from the test untyped.
    pub fn map<T: sel4::CapTypeForFrameObject>(
        &mut self,
        vspace: cap::VSpace,
        frame: Cap<T>,
        vaddr: u64,
        rights: CapRights,
        attrs: VmAttributes,
    ) -> TestResult {
        for _ in 0..4 {
            match frame.frame_map(vspace, vaddr as usize, rights, attrs) {
                Ok(()) => return Ok(()),
                Err(Error::FailedLookup) => {
                    let pt: cap::PageTable = self.obj()?;
                    pt.page_table_map(vspace, vaddr as usize, VmAttributes::DEFAULT)
                        .map_err(|e| Fail(format!("mapping a page table at {vaddr:#x}: {e:?}")))?;
                }
                Err(e) => return Err(Fail(format!("mapping a frame at {vaddr:#x}: {e:?}"))),
            }
        }
        Err(Fail(format!("mapping a frame at {vaddr:#x}: still no page table")))
    }

    /// Reserves `bytes` of scratch address space in the root task, aligned
    /// to `align`, with an unmapped gap after it.
    pub fn scratch(&mut self, bytes: u64, align: u64) -> u64 {
        let v = self.scratch_next.next_multiple_of(align);
        self.scratch_next = v + bytes.next_multiple_of(PAGE) + LARGE_PAGE;
        v
    }

    /// A fresh page mapped in the root task's scratch area with `rights`.
    pub fn page(
        &mut self,
        rights: CapRights,
        attrs: VmAttributes,
    ) -> TestResult<(cap::Granule, u64)> {
        let f: cap::Granule = self.obj()?;
        let v = self.scratch(PAGE, PAGE);
        self.map(slot::VSPACE.cap(), f, v, rights, attrs)?;
        Ok((f, v))
    }

    /// Undoes a test: suspends its threads, empties its slots, revokes the
    /// test untyped. Returns what went wrong, if anything.
    pub fn cleanup(&mut self) -> TestResult {
        let mut problems = String::new();
        for t in self.tcbs.drain(..) {
            let _ = t.tcb_suspend();
        }
        for s in (self.test.start..self.test.next).rev() {
            if let Err(e) = path(s).delete() {
                problems += &format!(" delete of slot {s}: {e:?};");
            }
        }
        if let Err(e) = path(self.test_ut.bits()).revoke() {
            problems += &format!(" revoke of the test untyped: {e:?};");
        }
        self.test.next = self.test.start;
        self.helpers = 0;
        self.done_ep = None;
        self.outcomes.clear();
        self.scratch_next = SCRATCH_BASE;
        let me = slot::TCB.cap();
        if let Err(e) = me.tcb_set_priority(me, ROOT_PRIO) {
            problems += &format!(" resetting the root priority: {e:?};");
        }
        let _ = me.tcb_unbind_notification();
        self.ipc.set_recv_slot(0, 0, 0);
        if problems.is_empty() { Ok(()) } else { Err(Fail(format!("cleanup:{problems}"))) }
    }
}

/// The frames of the root task's image with their addresses: the kernel
/// maps the image physically contiguous from `__sel4_runtime_image_start`,
/// in 4 KiB frames (2 MiB ones where virtual and physical addresses are
/// both aligned), in address order.
fn image_frames(bi: &sel4::BootInfo) -> TestResult<Vec<ImageFrame>> {
    unsafe extern "C" {
        static __sel4_runtime_image_start: u8;
        static __sel4_runtime_image_end: u8;
    }
    let start = (&raw const __sel4_runtime_image_start) as u64;
    let end = (&raw const __sel4_runtime_image_end) as u64;
    let mut addrs = Vec::new();
    for s in bi.user_image_frames().iter() {
        let p = s.cap().frame_get_address().ctx("address of an image frame")?;
        addrs.push((s.cptr_bits(), p as u64));
    }
    let base = addrs.first().map(|a| a.1).ok_or_else(|| Fail("no image frames".into()))?;
    let mut out = Vec::new();
    for (i, &(slot, p)) in addrs.iter().enumerate() {
        let vaddr = start + (p - base);
        let size = match addrs.get(i + 1) {
            Some(&(_, q)) => q - p,
            None if end - vaddr >= LARGE_PAGE && vaddr.is_multiple_of(LARGE_PAGE) => LARGE_PAGE,
            None => PAGE,
        };
        let size_bits = if size == LARGE_PAGE { 21 } else { 12 };
        out.push(ImageFrame { slot, vaddr, size_bits });
    }
    Ok(out)
}
