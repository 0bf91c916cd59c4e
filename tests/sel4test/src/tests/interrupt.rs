//! INTERRUPT: IRQControl hands out one handler cap per IRQ; the handler
//! binds a notification (SetNotification), acknowledges (Ack) and unbinds
//! (Clear). The round trips use the PL031 real-time clock of QEMU's virt
//! machine, whose interrupt (INTID 34, level high) the suite raises by
//! setting the match register to the current count.

use sel4::init_thread::slot;
use sel4::{CapRights, Error, cap};
use sel4_sys::InvocationLabel as L;

use super::common::err_mr;
use crate::Test;
use crate::check::{Context, TestResult, ensure, ensure_eq, expect_err, expect_label};
use crate::env::{Env, cap_at, path, root_cnode};
use crate::sys;

pub const TESTS: &[Test] = &[
    Test {
        id: "INTERRUPT0001",
        desc: "An IRQ has one handler at a time (RevokeFirst)",
        run: issue_twice,
    },
    Test { id: "INTERRUPT0002", desc: "An IRQ out of range is a RangeError", run: out_of_range },
    Test {
        id: "INTERRUPT0003",
        desc: "Issue into an occupied or invalid slot",
        run: bad_destination,
    },
    Test { id: "INTERRUPT0004", desc: "The kernel's timer IRQ cannot be issued", run: timer_irq },
    Test {
        id: "INTERRUPT0005",
        desc: "SetNotification needs a notification with write",
        run: set_notification_errors,
    },
    Test {
        id: "INTERRUPT0006",
        desc: "An RTC interrupt signals the notification",
        run: round_trip,
    },
    Test { id: "INTERRUPT0007", desc: "The IRQ stays masked until Ack", run: ack_unmasks },
    Test { id: "INTERRUPT0008", desc: "After Clear the IRQ signals nothing", run: clear },
    Test {
        id: "INTERRUPT0009",
        desc: "Deleting the last handler cap frees the IRQ; copies share it",
        run: delete_handler,
    },
    Test {
        id: "INTERRUPT0010",
        desc: "GetTrigger (level) and truncated IRQControl calls",
        run: get_trigger,
    },
];

/// The PL031 real-time clock of QEMU's virt machine, and its interrupt.
pub const RTC_PADDR: u64 = 0x0901_0000;
pub const RTC_IRQ: u64 = 34;
/// The kernel's tick on QEMU's virt machine (the EL2 physical timer).
const TIMER_IRQ: u64 = 26;

/// PL031 registers.
const RTCDR: u64 = 0x00;
const RTCMR: u64 = 0x04;
const RTCIMSC: u64 = 0x10;
const RTCRIS: u64 = 0x14;
const RTCICR: u64 = 0x1c;

struct Rtc(u64);

impl Rtc {
    fn read(&self, reg: u64) -> u32 {
        // SAFETY: the RTC's page is mapped device memory at `self.0` for
        // the suite's lifetime; its registers are 32 bits wide.
        unsafe { ((self.0 + reg) as *const u32).read_volatile() }
    }

    fn write(&self, reg: u64, v: u32) {
        // SAFETY: as for `read`.
        unsafe { ((self.0 + reg) as *mut u32).write_volatile(v) }
    }

    /// Raises the match interrupt now: the match register set to the
    /// current count fires at once (retried if the count ticks between).
    fn fire_now(&self) -> TestResult {
        self.write(RTCIMSC, 1);
        for _ in 0..3 {
            let now = self.read(RTCDR);
            self.write(RTCMR, now);
            if self.read(RTCRIS) & 1 != 0 {
                return Ok(());
            }
        }
        Err("the RTC did not raise its match interrupt".into())
    }

    /// Lowers the interrupt line.
    fn clear(&self) {
        self.write(RTCICR, 1);
    }

    fn off(&self) {
        self.write(RTCIMSC, 0);
        self.clear();
    }
}

fn rtc(env: &mut Env) -> TestResult<Rtc> {
    let r = Rtc(env.rtc()?);
    r.off();
    Ok(r)
}

/// Waits up to `ms` for a signal on `n`; the badge, or 0.
fn wait_signal(n: u64, ms: u64) -> u64 {
    let end = sys::now() + sys::ticks_ms(ms);
    loop {
        let b = sys::poll(n);
        if b != 0 || sys::now() > end {
            return b;
        }
    }
}

fn issue(env: &mut Env, irq: u64) -> TestResult<cap::IrqHandler> {
    let d = env.slot()?;
    slot::IRQ_CONTROL.cap().irq_control_get(irq, &path(d)).ctx("issue")?;
    Ok(cap_at(d))
}

/// A handler for the RTC's IRQ signalling a notification with `badge`;
/// returns the handler and the notification.
fn setup(env: &mut Env, badge: u64) -> TestResult<(cap::IrqHandler, u64)> {
    let h = issue(env, RTC_IRQ)?;
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), badge)?;
    h.irq_handler_set_notification(cap_at(nb)).ctx("SetNotification")?;
    Ok((h, n))
}

fn issue_twice(env: &mut Env) -> TestResult {
    let h = issue(env, RTC_IRQ)?;
    let d = env.slot()?;
    let ctl = slot::IRQ_CONTROL.cap();
    expect_err(ctl.irq_control_get(RTC_IRQ, &path(d)), Error::RevokeFirst, "a second handler")?;
    env.expect_slot(d, true, "the second destination")?;
    path(h.bits()).delete().ctx("delete")?;
    ctl.irq_control_get(RTC_IRQ, &path(d)).ctx("a handler after deleting the first")
}

fn out_of_range(env: &mut Env) -> TestResult {
    let d = env.slot()?;
    let ctl = slot::IRQ_CONTROL.cap();
    for irq in [1 << 16, u64::MAX] {
        expect_err(
            ctl.irq_control_get(irq, &path(d)),
            Error::RangeError,
            &alloc::format!("IRQ {irq:#x}"),
        )?;
        ensure_eq(err_mr(env, 0), 0, "the range minimum")?;
        let max = err_mr(env, 1);
        ensure((RTC_IRQ..1 << 16).contains(&max), || alloc::format!("the range maximum {max}"))?;
    }
    env.expect_slot(d, true, "the destination")
}

fn bad_destination(env: &mut Env) -> TestResult {
    let ctl = slot::IRQ_CONTROL.cap();
    let full = env.notification()?.bits();
    expect_err(ctl.irq_control_get(RTC_IRQ, &path(full)), Error::DeleteFirst, "an occupied slot")?;
    let d = env.slot()?;
    let bad = root_cnode().absolute_cptr_from_bits_with_depth(d, 0);
    expect_err(ctl.irq_control_get(RTC_IRQ, &bad), Error::RangeError, "depth 0")?;
    // Neither call issued a handler.
    ctl.irq_control_get(RTC_IRQ, &path(d)).ctx("issue after the refused calls")
}

fn timer_irq(env: &mut Env) -> TestResult {
    let d = env.slot()?;
    let r = slot::IRQ_CONTROL.cap().irq_control_get(TIMER_IRQ, &path(d));
    expect_err(r, Error::RevokeFirst, "the kernel's timer IRQ")
}

fn set_notification_errors(env: &mut Env) -> TestResult {
    let h = issue(env, RTC_IRQ)?;
    let ep = env.endpoint()?.bits();
    expect_err(
        h.irq_handler_set_notification(cap_at(ep)),
        Error::InvalidCapability,
        "an endpoint",
    )?;
    ensure_eq(err_mr(env, 0), 0, "the invalid cap's index")?;
    let n = env.notification()?.bits();
    let ro = env.copy(n, CapRights::read_only())?;
    expect_err(
        h.irq_handler_set_notification(cap_at(ro)),
        Error::InvalidCapability,
        "no write right",
    )?;
    let m = env.invoke(h.bits(), L::IrqSetIrqHandler, &[], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "no cap")?;
    let m = env.invoke(h.bits(), L::CNodeCopy, &[], &[]);
    expect_label(m.label(), Error::IllegalOperation, "another label")?;
    h.irq_handler_set_notification(cap_at(n)).ctx("a notification")
}

fn round_trip(env: &mut Env) -> TestResult {
    let rtc = rtc(env)?;
    let (h, n) = setup(env, 0x4)?;
    // A real wait: the next second's match.
    rtc.write(RTCIMSC, 1);
    rtc.write(RTCMR, rtc.read(RTCDR).wrapping_add(1));
    let b = wait_signal(n, 3000);
    ensure_eq(b, 0x4, "the notification's badge after the RTC's next second")?;
    rtc.clear();
    h.irq_handler_ack().ctx("Ack")?;
    // And an immediate one, waiting on the notification.
    rtc.fire_now()?;
    ensure_eq(sys::wait(n), 0x4, "the notification's badge")?;
    rtc.off();
    h.irq_handler_ack().ctx("Ack")
}

fn ack_unmasks(env: &mut Env) -> TestResult {
    let rtc = rtc(env)?;
    let (h, n) = setup(env, 1)?;
    rtc.fire_now()?;
    ensure_eq(wait_signal(n, 1000), 1, "the first interrupt")?;
    // The line is still high, but the IRQ is masked until Ack.
    ensure_eq(wait_signal(n, 50), 0, "a signal before Ack")?;
    h.irq_handler_ack().ctx("Ack")?;
    ensure_eq(wait_signal(n, 1000), 1, "the still-pending interrupt after Ack")?;
    rtc.off();
    h.irq_handler_ack().ctx("Ack")?;
    ensure_eq(wait_signal(n, 50), 0, "a signal after the device was quiet")
}

fn clear(env: &mut Env) -> TestResult {
    let rtc = rtc(env)?;
    let (h, n) = setup(env, 2)?;
    h.irq_handler_clear().ctx("Clear")?;
    rtc.fire_now()?;
    ensure_eq(wait_signal(n, 50), 0, "a signal after Clear")?;
    let nb = env.mint(n, CapRights::all(), 8)?;
    h.irq_handler_set_notification(cap_at(nb)).ctx("SetNotification again")?;
    h.irq_handler_ack().ctx("Ack")?;
    ensure_eq(wait_signal(n, 1000), 8, "the pending interrupt with the new badge")?;
    rtc.off();
    h.irq_handler_ack().ctx("Ack")
}

fn delete_handler(env: &mut Env) -> TestResult {
    let rtc = rtc(env)?;
    let (h, n) = setup(env, 1)?;
    let copy: cap::IrqHandler = cap_at(env.copy(h.bits(), CapRights::all())?);
    path(h.bits()).delete().ctx("delete of the original")?;
    let d = env.slot()?;
    let ctl = slot::IRQ_CONTROL.cap();
    expect_err(
        ctl.irq_control_get(RTC_IRQ, &path(d)),
        Error::RevokeFirst,
        "issue while a copy remains",
    )?;
    rtc.fire_now()?;
    ensure_eq(wait_signal(n, 1000), 1, "an interrupt through the copy's binding")?;
    rtc.off();
    copy.irq_handler_ack().ctx("Ack through the copy")?;
    path(copy.bits()).delete().ctx("delete of the copy")?;
    ctl.irq_control_get(RTC_IRQ, &path(d)).ctx("issue after the last handler cap is gone")?;
    // Revoking IRQControl deletes the handler caps it issued.
    path(slot::IRQ_CONTROL.cptr_bits()).revoke().ctx("revoke of IRQControl")?;
    env.expect_slot(d, true, "the handler after the revoke")
}

fn get_trigger(env: &mut Env) -> TestResult {
    let rtc = rtc(env)?;
    let d = env.slot()?;
    let ctl = slot::IRQ_CONTROL.cap();
    ctl.irq_control_get_trigger(RTC_IRQ, false, &path(d)).ctx("GetTrigger, level")?;
    let h: cap::IrqHandler = cap_at(d);
    let n = env.notification()?.bits();
    let nb = env.mint(n, CapRights::all(), 0x10)?;
    h.irq_handler_set_notification(cap_at(nb)).ctx("SetNotification")?;
    rtc.fire_now()?;
    ensure_eq(wait_signal(n, 1000), 0x10, "a level-triggered interrupt")?;
    rtc.off();
    h.irq_handler_ack().ctx("Ack")?;
    let e = env.slot()?;
    let root = root_cnode().bits();
    let m = env.invoke(ctl.bits(), L::IrqIssueIrqHandler, &[RTC_IRQ, e], &[root]);
    expect_label(m.label(), Error::TruncatedMessage, "Issue with two words")?;
    let m = env.invoke(ctl.bits(), L::ArmIrqIssueIrqHandlerTrigger, &[RTC_IRQ, 0, e, 64], &[]);
    expect_label(m.label(), Error::TruncatedMessage, "GetTrigger without the CNode")?;
    let m = env.invoke(ctl.bits(), L::CNodeCopy, &[], &[]);
    expect_label(m.label(), Error::IllegalOperation, "another label")
}
