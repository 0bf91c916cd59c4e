//! Checks each invocation's message against the layout `sel4_sys`
//! documents for its label, through the mock kernel of `arch::host`.

use std::sync::{Arc, Mutex};
use std::vec::Vec;

use crate::arch::mock;
use crate::sys::{InvocationLabel as L, Syscall};
use crate::*;

/// One invocation as the kernel saw it.
#[derive(Debug, Default, Clone)]
struct Seen {
    service: Word,
    label: Word,
    args: Vec<Word>,
    caps: Vec<Word>,
}

/// Installs a kernel that records each `Call` and answers with `label`
/// and message words `reply`.
fn kernel(label: Word, reply: &[Word]) -> Arc<Mutex<Vec<Seen>>> {
    set_ipc_buffer(Box::leak(Box::default()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let reply = reply.to_vec();
    mock::install(move |n, regs, buf| {
        assert_eq!(n, Syscall::Call);
        let buf = buf.expect("invocations pass the IPC buffer");
        let info = MessageInfo::from_inner(sys::MessageInfo(regs[1]));
        assert_eq!(info.caps_unwrapped(), 0);
        let mut args = regs[2..].to_vec();
        args.extend_from_slice(&buf.msg_regs()[4..]);
        args.truncate(info.length());
        let caps = buf.caps_or_badges()[..info.extra_caps()].to_vec();
        s.lock().unwrap().push(Seen { service: regs[0], label: info.label(), args, caps });
        buf.msg_regs_mut()[..reply.len()].copy_from_slice(&reply);
        let mut out = [0, MessageInfo::new(label, 0, 0, reply.len()).into_inner().0, 0, 0, 0, 0];
        out[2..].copy_from_slice(&buf.msg_regs()[..4]);
        out
    });
    seen
}

fn ok() -> Arc<Mutex<Vec<Seen>>> {
    kernel(0, &[])
}

fn last(seen: &Arc<Mutex<Vec<Seen>>>) -> Seen {
    seen.lock().unwrap().last().unwrap().clone()
}

fn check(seen: &Arc<Mutex<Vec<Seen>>>, service: Word, label: L, args: &[Word], caps: &[Word]) {
    let s = last(seen);
    assert_eq!((s.service, s.label), (service, label as Word), "{s:?}");
    assert_eq!((&s.args[..], &s.caps[..]), (args, caps), "{label:?}");
}

#[test]
fn untyped_retype() {
    let k = ok();
    let dst = cap::CNode::from_bits(2).absolute_cptr_from_bits_with_depth(0x10, 8);
    let ut = cap::Untyped::from_bits(30);
    ut.untyped_retype(&ObjectBlueprint::CNode { size_bits: 4 }, &dst, 5, 2).unwrap();
    check(&k, 30, L::UntypedRetype, &[4, 4, 0x10, 8, 5, 2], &[2]);
    ut.untyped_retype(&ObjectBlueprint::Tcb, &dst, 0, 1).unwrap();
    check(&k, 30, L::UntypedRetype, &[1, 0, 0x10, 8, 0, 1], &[2]);
}

#[test]
fn cnode_calls() {
    let k = ok();
    let root = cap::CNode::from_bits(2);
    let dst = root.absolute_cptr_from_bits_with_depth(40, 13);
    let src = cap::CNode::from_bits(3).absolute_cptr_from_bits_with_depth(7, 64);
    dst.copy(&src, CapRights::read_only()).unwrap();
    check(&k, 2, L::CNodeCopy, &[40, 13, 7, 64, 2], &[3]);
    dst.mint(&src, CapRights::all(), 0xbad).unwrap();
    check(&k, 2, L::CNodeMint, &[40, 13, 7, 64, 0xf, 0xbad], &[3]);
    dst.move_(&src).unwrap();
    check(&k, 2, L::CNodeMove, &[40, 13, 7, 64], &[3]);
    dst.mutate(&src, 9).unwrap();
    check(&k, 2, L::CNodeMutate, &[40, 13, 7, 64, 9], &[3]);
    dst.delete().unwrap();
    check(&k, 2, L::CNodeDelete, &[40, 13], &[]);
    dst.revoke().unwrap();
    check(&k, 2, L::CNodeRevoke, &[40, 13], &[]);
    dst.cancel_badged_sends().unwrap();
    check(&k, 2, L::CNodeCancelBadgedSends, &[40, 13], &[]);
}

#[test]
fn tcb_calls() {
    let k = ok();
    let tcb = cap::Tcb::from_bits(1);
    let (cnode, vspace, frame) =
        (cap::CNode::from_bits(2), cap::VSpace::from_bits(3), cap::Granule::from_bits(10));
    let guard = CNodeCapData::skip_high_bits(13);
    tcb.tcb_configure(CPtr::from_bits(5), cnode, guard, vspace, 0x1000, frame).unwrap();
    check(&k, 1, L::TcbConfigure, &[5, 51, 0, 0x1000], &[2, 3, 10]);
    tcb.tcb_set_space(CPtr::from_bits(5), cnode, guard, vspace).unwrap();
    check(&k, 1, L::TcbSetSpace, &[5, 51, 0], &[2, 3]);
    tcb.tcb_set_ipc_buffer(0x2000, frame).unwrap();
    check(&k, 1, L::TcbSetIpcBuffer, &[0x2000], &[10]);
    tcb.tcb_set_priority(cap::Tcb::from_bits(4), 100).unwrap();
    check(&k, 1, L::TcbSetPriority, &[100], &[4]);
    tcb.tcb_set_mc_priority(cap::Tcb::from_bits(4), 200).unwrap();
    check(&k, 1, L::TcbSetMcPriority, &[200], &[4]);
    tcb.tcb_resume().unwrap();
    check(&k, 1, L::TcbResume, &[], &[]);
    tcb.tcb_suspend().unwrap();
    check(&k, 1, L::TcbSuspend, &[], &[]);
    tcb.tcb_bind_notification(cap::Notification::from_bits(8)).unwrap();
    check(&k, 1, L::TcbBindNotification, &[], &[8]);
    tcb.tcb_unbind_notification().unwrap();
    check(&k, 1, L::TcbUnbindNotification, &[], &[]);
    tcb.tcb_set_tls_base(0xabc).unwrap();
    check(&k, 1, L::TcbSetTlsBase, &[0xabc], &[]);
}

#[test]
fn tcb_registers() {
    let regs: Vec<Word> = (100..136).collect();
    let k = kernel(0, &regs);
    let tcb = cap::Tcb::from_bits(1);
    let ctx = tcb.tcb_read_all_registers(true).unwrap();
    check(&k, 1, L::TcbReadRegisters, &[1, 36], &[]);
    assert_eq!((*ctx.pc(), *ctx.gpr(0), *ctx.gpr(9), *ctx.tpidrro_el0()), (100, 103, 117, 135));
    let three = tcb.tcb_read_registers(false, 3).unwrap();
    assert_eq!((*three.spsr(), *three.gpr(0)), (102, 0));
    tcb.tcb_write_all_registers(false, &ctx).unwrap();
    let mut expect = vec![0, 36];
    expect.extend(&regs);
    check(&k, 1, L::TcbWriteRegisters, &expect, &[]);
    tcb.tcb_write_registers(true, 2, &ctx).unwrap();
    check(&k, 1, L::TcbWriteRegisters, &[1, 2, 100, 101], &[]);
}

#[test]
fn irq_calls() {
    let k = ok();
    let dst = cap::CNode::from_bits(2).absolute_cptr_from_bits_with_depth(50, 13);
    let ctl = cap::IrqControl::from_bits(4);
    ctl.irq_control_get_trigger(33, true, &dst).unwrap();
    check(&k, 4, L::ArmIrqIssueIrqHandlerTrigger, &[33, 1, 50, 13], &[2]);
    ctl.irq_control_get(34, &dst).unwrap();
    check(&k, 4, L::IrqIssueIrqHandler, &[34, 50, 13], &[2]);
    let h = cap::IrqHandler::from_bits(50);
    h.irq_handler_ack().unwrap();
    check(&k, 50, L::IrqAckIrq, &[], &[]);
    h.irq_handler_set_notification(cap::Notification::from_bits(8)).unwrap();
    check(&k, 50, L::IrqSetIrqHandler, &[], &[8]);
    h.irq_handler_clear().unwrap();
    check(&k, 50, L::IrqClearIrqHandler, &[], &[]);
}

#[test]
fn vspace_calls() {
    let k = ok();
    let vspace = cap::VSpace::from_bits(3);
    let page = cap::SmallPage::from_bits(60);
    let attrs = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
    page.frame_map(vspace, 0x50_0000, CapRights::read_write(), attrs).unwrap();
    check(&k, 60, L::ArmPageMap, &[0x50_0000, 3, 5], &[3]);
    page.frame_unmap().unwrap();
    check(&k, 60, L::ArmPageUnmap, &[], &[]);
    cap::LargePage::from_bits(61).frame_clean_data(0, 0x1000).unwrap();
    check(&k, 61, L::ArmPageCleanData, &[0, 0x1000], &[]);
    vspace.vspace_unify_instruction(0x40_0000, 0x40_1000).unwrap();
    check(&k, 3, L::ArmVSpaceUnifyInstruction, &[0x40_0000, 0x40_1000], &[]);
    let pt = cap::PageTable::from_bits(62);
    pt.page_table_map(vspace, 0x60_0000, VmAttributes::DEFAULT).unwrap();
    check(&k, 62, L::ArmPageTableMap, &[0x60_0000, 1], &[3]);
    pt.page_table_unmap().unwrap();
    check(&k, 62, L::ArmPageTableUnmap, &[], &[]);
    let dst = cap::CNode::from_bits(2).absolute_cptr_from_bits_with_depth(70, 13);
    cap::AsidControl::from_bits(5)
        .asid_control_make_pool(cap::Untyped::from_bits(31), &dst)
        .unwrap();
    check(&k, 5, L::ArmAsidControlMakePool, &[70, 13], &[31, 2]);
    cap::AsidPool::from_bits(70).asid_pool_assign(vspace).unwrap();
    check(&k, 70, L::ArmAsidPoolAssign, &[], &[3]);
}

#[test]
fn frame_get_address_reads_mr0() {
    let k = kernel(0, &[0x4123_4000]);
    assert_eq!(cap::Granule::from_bits(9).frame_get_address(), Ok(0x4123_4000));
    check(&k, 9, L::ArmPageGetAddress, &[], &[]);
}

#[test]
fn vcpu_calls() {
    let k = kernel(0, &[0x77]);
    let vcpu = cap::Vcpu::from_bits(80);
    vcpu.vcpu_set_tcb(cap::Tcb::from_bits(1)).unwrap();
    check(&k, 80, L::ArmVcpuSetTcb, &[], &[1]);
    vcpu.vcpu_inject_irq(27, 0xa0, 1, 3).unwrap();
    check(&k, 80, L::ArmVcpuInjectIrq, &[27 | 0xa0 << 16 | 1 << 24 | 3 << 32], &[]);
    assert_eq!(vcpu.vcpu_read_regs(4), Ok(0x77));
    check(&k, 80, L::ArmVcpuReadReg, &[4], &[]);
    vcpu.vcpu_write_regs(4, 9).unwrap();
    check(&k, 80, L::ArmVcpuWriteReg, &[4, 9], &[]);
    vcpu.vcpu_ack_vppi(27).unwrap();
    check(&k, 80, L::ArmVcpuAckVppi, &[27], &[]);
}

#[test]
fn error_replies_map_to_errors() {
    kernel(Error::RevokeFirst.code(), &[]);
    let dst = cap::CNode::from_bits(2).absolute_cptr_for_self();
    let r = cap::Untyped::from_bits(30).untyped_retype(&ObjectBlueprint::Endpoint, &dst, 0, 1);
    assert_eq!(r, Err(Error::RevokeFirst));
    kernel(Error::FailedLookup.code(), &[1, 2, 3]);
    assert_eq!(cap::Granule::from_bits(9).frame_get_address(), Err(Error::FailedLookup));
    // The details stay in the IPC buffer for the caller to read.
    assert_eq!(with_ipc_buffer(|b| b.msg_regs()[..3].to_vec()), [1, 2, 3]);
}
