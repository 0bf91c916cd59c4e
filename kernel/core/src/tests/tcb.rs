//! TCB invocations: priorities and MCP, registers, IPC buffer, spaces,
//! suspend and resume, deletion.

use super::ipc::park;
use super::*;
use InvocationLabel::*;
use sel4_sys::UserContext;

const CNODE: u64 = InitialCap::InitThreadCNode as u64;
const VSPACE: u64 = InitialCap::InitThreadVSpace as u64;
const ROOT_TCB: u64 = InitialCap::InitThreadTcb as u64;

#[test]
fn priorities_bounded_by_mcp() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    assert_eq!(t.get().priority, 10);
    // The new thread's MCP is 0: as an authority it allows priority 0 only.
    assert_eq!(
        s.invoke(tt, TcbSetPriority, &[1], &[tt]).unwrap_err(),
        (Error::RangeError, vec![0, 0])
    );
    s.ok(tt, TcbSetMcPriority, &[100], &[ROOT_TCB]);
    assert_eq!(t.get().mcp, 100);
    s.ok(tt, TcbSetPriority, &[100], &[tt]);
    assert_eq!(
        s.invoke(tt, TcbSetPriority, &[101], &[tt]).unwrap_err(),
        (Error::RangeError, vec![0, 100])
    );
    assert_eq!(
        s.invoke(tt, TcbSetPriority, &[256], &[ROOT_TCB]).unwrap_err(),
        (Error::RangeError, vec![0, 255])
    );
    assert_eq!(
        s.invoke(tt, TcbSetPriority, &[1], &[CNODE]).unwrap_err(),
        (Error::InvalidCapability, vec![1])
    );
    assert_eq!(s.err(tt, TcbSetPriority, &[1], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(tt, TcbSetPriority, &[], &[ROOT_TCB]), Error::TruncatedMessage);
    assert_eq!(s.err(tt, TcbSetMcPriority, &[300], &[ROOT_TCB]), Error::RangeError);
    s.ok(tt, TcbSetSchedParams, &[50, 40], &[ROOT_TCB]);
    assert_eq!((t.get().mcp, t.get().priority), (50, 40));
    assert_eq!(s.err(tt, TcbSetSchedParams, &[50, 60], &[tt]), Error::RangeError);
    assert_eq!(s.err(tt, TcbSetSchedParams, &[50], &[tt]), Error::TruncatedMessage);
    // Priority changes move a ready thread between queues.
    s.resume(tt);
    assert!(t.get().queued);
    s.ok(tt, TcbSetPriority, &[30], &[ROOT_TCB]);
    assert!(t.get().queued);
    assert_eq!(s.k.highest_prio(), Some(30));
}

#[test]
fn write_then_read_registers() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    let words: Vec<u64> = (0..36).map(|i| 1000 + i).collect();
    let mut args = vec![0, 36];
    args.extend(&words);
    s.ok(tt, TcbWriteRegisters, &args, &[]);
    let ctx = t.get().context;
    let uc = UserContext::from_words(&words.clone().try_into().unwrap());
    assert_eq!(t.get().fault_ip, uc.pc);
    assert_eq!(ctx.pc, uc.pc);
    assert_eq!(ctx.sp, uc.sp);
    assert_eq!(ctx.spsr, uc.spsr & 0xf000_0000);
    assert_eq!(ctx.regs[0], uc.x0);
    assert_eq!(ctx.regs[16], uc.x16);
    assert_eq!(ctx.regs[30], uc.x30);
    assert_eq!(ctx.regs[9], uc.x9);
    assert_eq!(ctx.regs[28], uc.x28);
    assert_eq!(ctx.tpidr_el0, uc.tpidr_el0);
    assert_eq!(ctx.tpidrro_el0, uc.tpidrro_el0);
    assert_eq!(s.state(t), ThreadState::Inactive);
    let read = s.ok(tt, TcbReadRegisters, &[0, 36], &[]);
    let mut expect = words.clone();
    expect[2] &= 0xf000_0000;
    assert_eq!(read, expect);
    assert_eq!(s.ok(tt, TcbReadRegisters, &[0, 3], &[]), expect[..3].to_vec());
    // A user SPSR cannot leave EL0 or mask interrupts.
    s.ok(tt, TcbWriteRegisters, &[0, 3, 0x40, 0x80, 0x3c5], &[]);
    assert_eq!(t.get().context.spsr, 0);
    // Resume through WriteRegisters.
    s.ok(tt, TcbWriteRegisters, &[1, 1, 0x1234], &[]);
    assert_eq!(s.state(t), ThreadState::Restart);
    assert!(t.get().queued);
}

#[test]
fn register_errors() {
    let mut s = Sys::boot();
    let (tt, _) = s.new_thread(10);
    assert_eq!(
        s.invoke(tt, TcbReadRegisters, &[0, 0], &[]).unwrap_err(),
        (Error::RangeError, vec![1, 36])
    );
    assert_eq!(
        s.invoke(tt, TcbReadRegisters, &[0, 37], &[]).unwrap_err(),
        (Error::RangeError, vec![1, 36])
    );
    assert_eq!(s.err(tt, TcbReadRegisters, &[0], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(tt, TcbWriteRegisters, &[0, 3, 1, 2], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(tt, TcbWriteRegisters, &[0, u64::MAX, 1, 2], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(ROOT_TCB, TcbReadRegisters, &[0, 1], &[]), Error::IllegalOperation);
    assert_eq!(s.err(ROOT_TCB, TcbWriteRegisters, &[0, 0], &[]), Error::IllegalOperation);
    assert_eq!(s.err(tt, CNodeCopy, &[], &[]), Error::IllegalOperation);
    assert_eq!(s.err(tt, InvalidInvocation, &[], &[]), Error::IllegalOperation);
}

#[test]
fn copy_registers() {
    let mut s = Sys::boot();
    let (at, a) = s.new_thread(10);
    let (bt, b) = s.new_thread(10);
    let mut args = vec![0, 36];
    args.extend((0..36).map(|i| 50 + i));
    s.ok(at, TcbWriteRegisters, &args, &[]);
    s.ok(bt, TcbCopyRegisters, &[0b1110], &[at]);
    assert_eq!(b.get().context, {
        let mut c = a.get().context;
        c.spsr &= 0xf000_0000;
        c
    });
    assert_eq!(s.state(b), ThreadState::Restart);
    assert_eq!(
        s.invoke(bt, TcbCopyRegisters, &[0], &[CNODE]).unwrap_err(),
        (Error::InvalidCapability, vec![1])
    );
}

#[test]
fn suspend_resume() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    assert_eq!(s.state(t), ThreadState::Inactive);
    s.resume(tt);
    assert_eq!(s.state(t), ThreadState::Restart);
    assert!(t.get().queued);
    assert!(matches!(t.slot(crate::tcb::TCB_REPLY).cap(), Cap::Reply { master: true, .. }));
    // Resuming a runnable thread changes nothing.
    s.resume(tt);
    s.ok(tt, TcbSuspend, &[], &[]);
    assert_eq!(s.state(t), ThreadState::Inactive);
    assert!(!t.get().queued);
    // A thread suspending itself stops; the next thread runs.
    s.resume(tt);
    let root = s.root;
    s.syscall(Syscall::Call, ROOT_TCB, TcbSuspend as u64, &[], &[]);
    assert_eq!(s.state(root), ThreadState::Inactive);
    s.expect_current(t);
}

#[test]
fn ipc_buffer_checks() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    let f = s.retype(ObjectType::SmallPage, 0, 1);
    assert_eq!(s.err(tt, TcbSetIpcBuffer, &[0x1000_8200], &[f]), Error::AlignmentError);
    assert_eq!(s.err(tt, TcbSetIpcBuffer, &[0x1000_8400], &[CNODE]), Error::IllegalOperation);
    assert_eq!(s.err(tt, TcbSetIpcBuffer, &[0x1000_8400], &[]), Error::TruncatedMessage);
    let bi = s.bootinfo();
    let i = bi.untypeds().iter().position(|u| u.is_device != 0).unwrap();
    let dev = bi.untyped.start + i as u64;
    let df = s.alloc_slot();
    s.ok(dev, UntypedRetype, &[7, 0, 0, 0, df, 1], &[CNODE]);
    assert_eq!(s.err(tt, TcbSetIpcBuffer, &[0x1000_8400], &[df]), Error::IllegalOperation);
    s.ok(tt, TcbSetIpcBuffer, &[0x1000_8400], &[f]);
    assert_eq!(t.get().ipc_buffer, 0x1000_8400);
    let Cap::Frame { paddr, .. } = s.cap(f) else { panic!() };
    assert_eq!(s.k.lookup_ipc_buffer(true, t), Some(BufRef(paddr + 0x400)));
    // Address 0 removes the buffer.
    s.ok(tt, TcbSetIpcBuffer, &[0], &[f]);
    assert_eq!(t.slot(crate::tcb::TCB_BUFFER).cap(), Cap::Null);
    assert_eq!(s.k.lookup_ipc_buffer(false, t), None);
    // A read-only frame is a buffer for sending only.
    let ro = s.copy(f, CapRights::read_only());
    s.ok(tt, TcbSetIpcBuffer, &[0x1000_8000], &[ro]);
    assert_eq!(s.k.lookup_ipc_buffer(true, t), None);
    assert!(s.k.lookup_ipc_buffer(false, t).is_some());
}

#[test]
fn set_space_and_configure_checks() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    let ep = s.endpoint();
    s.ok(tt, TcbSetSpace, &[ep, 0, 0], &[CNODE, VSPACE]);
    assert_eq!(t.get().fault_handler, ep);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0, 0], &[ep, VSPACE]), Error::IllegalOperation);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0, 0], &[CNODE, CNODE]), Error::IllegalOperation);
    let vs = s.retype(ObjectType::VSpace, 0, 1);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0, 0], &[CNODE, vs]), Error::IllegalOperation);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0], &[CNODE, VSPACE]), Error::TruncatedMessage);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0, 0], &[CNODE]), Error::TruncatedMessage);
    // CSpace root data sets the guard of the thread's copy.
    let cn = s.retype(ObjectType::CapTable, 6, 1);
    s.ok(tt, TcbSetSpace, &[0, 58, 0], &[cn, VSPACE]);
    assert!(matches!(
        t.slot(crate::tcb::TCB_CTABLE).cap(),
        Cap::CNode { radix: 6, guard_size: 58, guard: 0, .. }
    ));
    // Once the thread holds the last cap to that CNode, replacing it would
    // destroy the CNode: refused (seL4's slotCapLongRunningDelete).
    s.ok(CNODE, CNodeDelete, &[cn, 64], &[]);
    assert_eq!(s.err(tt, TcbSetSpace, &[0, 0, 0], &[CNODE, VSPACE]), Error::IllegalOperation);
    assert_eq!(s.err(tt, TcbConfigure, &[0, 0, 0, 0], &[CNODE, VSPACE]), Error::TruncatedMessage);
    assert_eq!(
        s.err(tt, TcbConfigure, &[0, 0, 0], &[CNODE, VSPACE, CNODE]),
        Error::TruncatedMessage
    );
}

#[test]
fn tls_base_and_domain() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    s.ok(tt, TcbSetTlsBase, &[0xabc0], &[]);
    assert_eq!(t.get().context.tpidr_el0, 0xabc0);
    assert_eq!(s.err(tt, TcbSetTlsBase, &[], &[]), Error::TruncatedMessage);
    let dom = InitialCap::Domain as u64;
    s.ok(dom, DomainSetSet, &[0], &[tt]);
    assert_eq!(
        s.invoke(dom, DomainSetSet, &[1], &[tt]).unwrap_err(),
        (Error::InvalidArgument, vec![0])
    );
    assert_eq!(
        s.invoke(dom, DomainSetSet, &[0], &[CNODE]).unwrap_err(),
        (Error::InvalidArgument, vec![1])
    );
    assert_eq!(s.err(dom, DomainSetSet, &[0], &[]), Error::TruncatedMessage);
    assert_eq!(s.err(dom, TcbSuspend, &[0], &[tt]), Error::IllegalOperation);
}

#[test]
fn deleting_a_thread() {
    let mut s = Sys::boot();
    let (tt, t) = s.new_thread(10);
    let n = s.notification();
    s.ok(tt, TcbBindNotification, &[], &[n]);
    s.resume(tt);
    assert!(t.get().queued);
    let copy = s.copy(tt, CapRights::all());
    // Not the last cap: nothing happens to the thread.
    s.ok(CNODE, CNodeDelete, &[copy, 64], &[]);
    assert!(t.get().queued);
    s.ok(CNODE, CNodeDelete, &[tt, 64], &[]);
    assert_eq!(s.state(t), ThreadState::Inactive);
    assert!(!t.get().queued);
    assert_eq!(s.k.highest_prio(), None);
    for i in 0..5 {
        assert_eq!(t.slot(i).cap(), Cap::Null);
    }
    let ntfn = crate::object::NtfnRef(s.cap(n).obj_ptr());
    assert_eq!(ntfn.get().bound_tcb, 0);
    // It is gone from the thread list.
    let mut p = s.k.debug_tcbs;
    while p != 0 {
        assert_ne!(p, t.0);
        p = TcbRef(p).get().debug_next;
    }
}

#[test]
fn deleting_a_blocked_thread() {
    let mut s = Sys::boot();
    let ep = s.endpoint();
    let (tt, t) = s.new_thread(100);
    s.resume(tt);
    let park = park(&mut s);
    s.expect_current(t);
    s.syscall(Syscall::Recv, ep, 0, &[], &[]);
    assert!(s.k.current_is_idle());
    // Bring the root back and delete the blocked thread.
    s.kernel_signal(park);
    s.expect_current(s.root);
    s.ok(CNODE, CNodeDelete, &[tt, 64], &[]);
    let e = crate::object::EpRef(s.cap(ep).obj_ptr());
    assert_eq!(e.get().state(), crate::object::EpState::Idle);
}

#[test]
fn a_thread_deleting_itself() {
    let mut s = Sys::boot();
    let (xt, x) = s.new_thread(200);
    s.resume(xt);
    park(&mut s);
    s.expect_current(x);
    s.syscall(Syscall::Call, CNODE, CNodeDelete as u64, &[xt, 64], &[]);
    assert_eq!(s.state(x), ThreadState::Inactive);
    assert!(s.k.current_is_idle());
    assert_eq!(s.k.current_vspace(), None);
    assert_eq!(s.cap(xt), Cap::Null);
}

#[test]
fn thread_in_its_own_cspace_and_vspace() {
    let mut s = Sys::boot();
    let cn = s.retype(ObjectType::CapTable, 4, 1);
    let vs = s.retype(ObjectType::VSpace, 0, 1);
    s.ok(InitialCap::InitThreadAsidPool as u64, ArmAsidPoolAssign, &[], &[vs]);
    let ep = s.endpoint();
    s.ok(cn, CNodeCopy, &[1, 4, ep, 64, 0xf], &[CNODE]);
    let (tt, t) = s.new_thread(100);
    // Guard of 60 bits: cptr 1 is slot 1.
    s.ok(tt, TcbSetSpace, &[0, 60, 0], &[cn, vs]);
    s.resume(tt);
    park(&mut s);
    s.expect_current(t);
    let (root, asid) = s.k.current_vspace().expect("vspace");
    assert_eq!((root, asid), (s.cap(vs).obj_ptr(), 2));
    s.syscall(Syscall::NBRecv, 1, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::Running);
    // cptr 2 is an empty slot: a cap fault, and no handler.
    s.syscall(Syscall::Recv, 2, 0, &[], &[]);
    assert_eq!(s.state(t), ThreadState::Inactive);
}
