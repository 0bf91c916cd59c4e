//! Scheduling: priorities, round robin by time slices, yield, idle, and
//! the debug system calls.

use super::ipc::{park, unpark};
use super::*;
use crate::TIME_SLICE_TICKS;
use Syscall::*;

#[test]
fn highest_priority_runs() {
    let mut s = Sys::boot();
    let (at, a) = s.new_thread(10);
    let (bt, b) = s.new_thread(20);
    s.resume(at);
    s.resume(bt);
    // The root (255) keeps running.
    s.expect_current(s.root);
    let park = park(&mut s);
    s.expect_current(b);
    s.syscall(Recv, park + 1000, 0, &[], &[]);
    // b faulted (empty slot): a runs.
    s.expect_current(a);
    // Nothing left: idle.
    s.k.suspend(a);
    s.k.schedule();
    assert!(s.k.current_is_idle());
    assert_eq!(s.k.current_vspace(), None);
}

#[test]
fn round_robin_by_time_slice() {
    let mut s = Sys::boot();
    let (at, a) = s.new_thread(10);
    let (bt, b) = s.new_thread(10);
    s.resume(bt);
    s.resume(at);
    park(&mut s);
    s.expect_current(a);
    for _ in 0..TIME_SLICE_TICKS - 1 {
        s.k.handle_timer_tick();
        s.expect_current(a);
    }
    s.k.handle_timer_tick();
    s.expect_current(b);
    assert_eq!(a.get().time_slice, TIME_SLICE_TICKS);
    assert!(a.get().queued);
    // The timer IRQ through handle_irq ticks too.
    for _ in 0..TIME_SLICE_TICKS {
        s.k.handle_irq(TIMER_IRQ);
    }
    s.expect_current(a);
}

#[test]
fn preempted_thread_keeps_its_place() {
    let mut s = Sys::boot();
    let n = s.notification();
    let (ht, high) = s.new_thread(50);
    let (at, a) = s.new_thread(10);
    let (bt, _) = s.new_thread(10);
    s.resume(bt);
    s.resume(at);
    s.resume(ht);
    park(&mut s);
    s.expect_current(high);
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(a);
    // An interrupt-driven signal (from the kernel side) wakes the high
    // thread; a is preempted and goes back to the front of its queue.
    s.kernel_signal(n);
    s.expect_current(high);
    s.syscall(Recv, n, 0, &[], &[]);
    s.expect_current(a);
}

#[test]
fn yield_goes_to_the_back() {
    let mut s = Sys::boot();
    let (at, a) = s.new_thread(10);
    let (bt, b) = s.new_thread(10);
    let (ct, c) = s.new_thread(10);
    s.resume(ct);
    s.resume(bt);
    s.resume(at);
    park(&mut s);
    s.expect_current(a);
    s.syscall(Yield, 0, 0, &[], &[]);
    s.expect_current(b);
    s.syscall(Yield, 0, 0, &[], &[]);
    s.expect_current(c);
    s.syscall(Yield, 0, 0, &[], &[]);
    s.expect_current(a);
    // Alone at its priority, a yielding thread continues.
    let (_, _) = (b, c);
    s.k.suspend(b);
    s.k.suspend(c);
    s.syscall(Yield, 0, 0, &[], &[]);
    s.expect_current(a);
}

#[test]
fn woken_higher_priority_runs_at_once() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let (ht, high) = s.new_thread(100);
    let (lt, low) = s.new_thread(10);
    s.resume(ht);
    s.resume(lt);
    let park = park(&mut s);
    s.expect_current(high);
    s.syscall(Recv, ep, 0, &[], &[]);
    s.expect_current(low);
    s.syscall(Send, ep, 0, &[], &[]);
    s.expect_current(high);
    // The root wakes and preempts everyone.
    unpark(&mut s, park);
    assert!(high.get().queued);
    assert!(low.get().queued);
}

#[test]
fn debug_syscalls() {
    let mut s = Sys::boot();
    for c in b"hi!\n" {
        s.k.cur.get().context.regs[0] = *c as u64;
        s.k.handle_syscall(DebugPutChar as i64 as u64);
    }
    assert!(s.k.arch.out.ends_with("hi!\n"));
    let (tt, _) = s.new_thread(7);
    s.resume(tt);
    s.k.handle_syscall(DebugDumpScheduler as i64 as u64);
    let out = &s.k.arch.out;
    assert!(out.contains("\"root\" Running prio 255 current"), "{out}");
    assert!(out.contains("\"root.t\" Restart prio 7 ready"), "{out}");
    assert!(out.contains("\"idle\" Idle prio 0"), "{out}");
}

#[test]
#[should_panic(expected = "halt")]
fn debug_halt() {
    let mut s = Sys::boot();
    s.k.handle_syscall(DebugHalt as i64 as u64);
}

#[test]
fn unknown_syscall_without_handler() {
    let mut s = Sys::boot();
    let root = s.root;
    s.k.handle_syscall(12345);
    assert_eq!(s.state(root), ThreadState::Inactive);
    assert!(s.k.arch.out.contains("unknown syscall 12345"));
    assert!(s.k.current_is_idle());
    // Entries while idle change nothing.
    s.k.handle_syscall(Yield as i64 as u64);
    s.k.handle_vm_fault(0, false, 0);
    s.k.handle_timer_tick();
    assert!(s.k.current_is_idle());
}
