//! IPCRIGHTS: what each endpoint and notification right allows. Send needs
//! Write, Recv needs Read, caps travel only with Grant, Call needs Grant or
//! GrantReply, the reply may carry caps only if the receiver's cap had
//! Grant, and a fault endpoint needs Write and Grant or GrantReply.
//!
//! Each test goes through every combination of the four rights.

use core::arch::asm;

use sel4::CapRights;
use sel4::init_thread::slot;
use sel4_sys::{FaultLabel, InvocationLabel as L, MessageInfo};

use super::common::{MAGIC1, MAGIC2, h_recv, info};
use crate::Test;
use crate::check::{Context, TestResult, ensure_eq};
use crate::env::{Env, path, root_cnode};
use crate::sys::{self, Ipc};
use crate::thread::Spawn;

pub const TESTS: &[Test] = &[
    Test { id: "IPCRIGHTS0001", desc: "seL4_Send needs write", run: send_needs_write },
    Test { id: "IPCRIGHTS0002", desc: "seL4_Recv needs read", run: recv_needs_read },
    Test {
        id: "IPCRIGHTS0003",
        desc: "seL4_Send with caps needs grant",
        run: send_cap_needs_grant,
    },
    Test {
        id: "IPCRIGHTS0004",
        desc: "seL4_Call needs grant or grant-reply",
        run: call_needs_grant_or_grant_reply,
    },
    Test {
        id: "IPCRIGHTS0005",
        desc: "seL4_Reply grant depends of the grant of previous seL4_Recv",
        run: reply_grant_receiver,
    },
    Test {
        id: "IPCRIGHTS0006",
        desc: "Signal needs write, Wait and Poll need read",
        run: notification_rights,
    },
    Test {
        id: "IPCRIGHTS0007",
        desc: "A fault endpoint needs write and grant or grant-reply",
        run: fault_ep_rights,
    },
];

/// The rights word `i` (bit 0 write, 1 read, 2 grant, 3 grant-reply).
fn rights(i: u64) -> CapRights {
    CapRights::new(i & 8 != 0, i & 4 != 0, i & 2 != 0, i & 1 != 0)
}

fn send_needs_write(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    for i in 0..16 {
        let r = rights(i);
        let t = env.spawn(Spawn::new(h_recv).args([ep, 0, 0, 0]))?;
        let minted = env.mint(ep, r, 0)?;
        env.ipc.set_mr(0, MAGIC2);
        env.ipc.send(minted, info(0, 1));
        if !r.can_write() {
            env.ipc.set_mr(0, MAGIC1);
            env.ipc.send(ep, info(0, 1));
        }
        let want = if r.can_write() { MAGIC2 } else { MAGIC1 };
        env.join_expect(&t, want, &alloc::format!("first message received with rights {i:#x}"))?;
        path(minted).delete().ctx("delete")?;
    }
    Ok(())
}

fn recv_needs_read(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let fault_ep = env.endpoint()?.bits();
    for i in 0..16 {
        let r = rights(i);
        let minted = env.mint(ep, r, 0)?;
        let t = env.spawn(Spawn::new(h_recv).args([minted, 0, 0, 0]).fault_ep(fault_ep))?;
        let what = alloc::format!("receive with rights {i:#x}");
        if r.can_read() {
            env.ipc.set_mr(0, MAGIC1);
            env.ipc.send(ep, info(0, 1));
            env.join_expect(&t, MAGIC1, &what)?;
        } else {
            let f = env.expect_fault(fault_ep, FaultLabel::CapFault, &what)?;
            ensure_eq((f.mr[1], f.mr[2]), (minted, 1), "cap fault cptr and receive phase")?;
            t.tcb.tcb_suspend().ctx("suspend")?;
        }
    }
    Ok(())
}

/// Receives on `[ep, recv_slot]` with its receive slot set to `recv_slot`
/// of the root CNode; returns MR0, plus the extra cap count in bits 32-39.
fn h_recv_cap(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_recv_slot(slot::CNODE.cptr_bits(), a[1], 64);
    let m = ipc.recv(a[0]);
    ipc.mr(0) | m.extra_caps() << 32
}

fn send_cap_needs_grant(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let ntfn = env.notification()?.bits();
    let badged = env.mint(ntfn, CapRights::all(), 5)?;
    for i in (0..16).filter(|i| rights(*i).can_write()) {
        let r = rights(i);
        let minted = env.mint(ep, r, 0)?;
        let recv_slot = env.slot()?;
        let t = env.spawn(Spawn::new(h_recv_cap).args([ep, recv_slot, 0, 0]))?;
        env.ipc.set_mr(0, MAGIC1);
        env.ipc.set_cap(0, badged);
        env.ipc.send(minted, MessageInfo::new(0, 0, 1, 1));
        let got = env.join(&t)?;
        let what = alloc::format!("with rights {i:#x}");
        ensure_eq(got & 0xffff_ffff, MAGIC1, &what)?;
        ensure_eq(got >> 32, r.can_grant() as u64, &alloc::format!("caps received {what}"))?;
        env.expect_slot(recv_slot, !r.can_grant(), &what)?;
        if r.can_grant() {
            // The received cap works: signal through it.
            sys::signal(recv_slot);
            ensure_eq(
                sys::poll(ntfn),
                5,
                &alloc::format!("signal through the received cap {what}"),
            )?;
            path(recv_slot).delete().ctx("delete")?;
        }
    }
    Ok(())
}

/// Calls `[ep]` with MAGIC1 (twice if `[_, twice]`); returns the reply's MR0.
fn h_check_call(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_mr(0, MAGIC1);
    ipc.call(a[0], info(0, 1));
    if a[1] != 0 {
        ipc.set_mr(0, MAGIC1);
        ipc.call(a[0], info(0, 1));
    }
    ipc.mr(0)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Reply,
    SaveCaller,
    ReplyRecv,
}

const MODES: [Mode; 3] = [Mode::Reply, Mode::SaveCaller, Mode::ReplyRecv];

fn save_caller(env: &Env, slot: u64) -> TestResult {
    let m = env.invoke(root_cnode().bits(), L::CNodeSaveCaller, &[slot, 64], &[]);
    ensure_eq(m.label(), 0, "SaveCaller")
}

fn call_needs_grant_or_grant_reply(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    for mode in MODES {
        for i in (0..16).filter(|i| rights(*i).can_write()) {
            let r = rights(i);
            let what = alloc::format!("{mode:?} with rights {i:#x}");
            let minted = env.copy(ep, r)?;
            let reply = env.slot()?;
            let twice = (mode == Mode::ReplyRecv) as u64;
            let t = env.spawn(Spawn::new(h_check_call).args([minted, twice, 0, 0]))?;
            env.ipc.recv(ep);
            ensure_eq(env.ipc.mr(0), MAGIC1, &what)?;
            if r.can_grant() || r.can_grant_reply() {
                match mode {
                    Mode::Reply => {
                        env.ipc.set_mr(0, MAGIC2);
                        env.ipc.reply(info(0, 1));
                        save_caller(env, reply)?;
                        env.expect_slot(reply, true, &what)?;
                    }
                    Mode::SaveCaller => {
                        save_caller(env, reply)?;
                        env.expect_slot(reply, false, &what)?;
                        env.ipc.set_mr(0, MAGIC2);
                        env.ipc.send(reply, info(0, 1));
                        env.expect_slot(reply, true, &what)?;
                    }
                    Mode::ReplyRecv => {
                        env.ipc.reply_recv(ep, info(0, 0));
                        env.ipc.set_mr(0, MAGIC2);
                        env.ipc.reply(info(0, 1));
                    }
                }
                env.join_expect(&t, MAGIC2, &what)?;
            } else {
                // The caller got no reply cap and stopped.
                save_caller(env, reply)?;
                env.expect_slot(reply, true, &alloc::format!("reply cap {what}"))?;
                // Resumed with a full cap, it makes the call again.
                path(minted).delete().ctx("delete")?;
                path(minted).copy(&path(ep), CapRights::all()).ctx("copy")?;
                t.tcb.tcb_resume().ctx("resume")?;
                env.ipc.recv(ep);
                ensure_eq(env.ipc.mr(0), MAGIC1, &alloc::format!("repeated call {what}"))?;
                save_caller(env, reply)?;
                env.expect_slot(
                    reply,
                    false,
                    &alloc::format!("reply cap of the repeated call {what}"),
                )?;
                // Suspending the caller deletes its reply cap.
                t.tcb.tcb_suspend().ctx("suspend")?;
                env.expect_slot(reply, true, &alloc::format!("reply cap after suspend {what}"))?;
            }
            path(minted).delete().ctx("delete")?;
        }
    }
    Ok(())
}

/// Calls `[ep]` (twice if `[_, twice]`) with its receive slot at
/// `[_, _, recv_slot]`; returns the reply's MR0 plus its extra cap count in
/// bits 32-39.
fn h_call_return_cap(ipc: &Ipc, a: [u64; 4]) -> u64 {
    ipc.set_recv_slot(slot::CNODE.cptr_bits(), a[2], 64);
    ipc.set_mr(0, MAGIC1);
    let mut m = ipc.call(a[0], info(0, 1));
    if a[1] != 0 {
        ipc.set_mr(0, MAGIC1);
        m = ipc.call(a[0], info(0, 1));
    }
    ipc.mr(0) | m.extra_caps() << 32
}

fn reply_grant_receiver(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    let return_ep = env.endpoint()?.bits();
    for mode in MODES {
        for i in (0..16).filter(|i| rights(*i).can_read()) {
            let r = rights(i);
            let what = alloc::format!("{mode:?} with the receiver's rights {i:#x}");
            let minted = env.copy(ep, r)?;
            let (reply, recv_slot) = (env.slot()?, env.slot()?);
            let twice = (mode == Mode::ReplyRecv) as u64;
            let t = env.spawn(Spawn::new(h_call_return_cap).args([ep, twice, recv_slot, 0]))?;
            env.ipc.recv(minted);
            ensure_eq(env.ipc.mr(0), MAGIC1, &what)?;
            let with_cap = MessageInfo::new(0, 0, 1, 1);
            match mode {
                Mode::SaveCaller => {
                    save_caller(env, reply)?;
                    env.ipc.set_mr(0, MAGIC2);
                    env.ipc.set_cap(0, return_ep);
                    env.ipc.send(reply, with_cap);
                }
                Mode::Reply | Mode::ReplyRecv => {
                    if mode == Mode::ReplyRecv {
                        env.ipc.reply_recv(minted, info(0, 0));
                    }
                    env.ipc.set_mr(0, MAGIC2);
                    env.ipc.set_cap(0, return_ep);
                    env.ipc.reply(with_cap);
                }
            }
            let got = env.join(&t)?;
            ensure_eq(got & 0xffff_ffff, MAGIC2, &what)?;
            ensure_eq(
                got >> 32,
                r.can_grant() as u64,
                &alloc::format!("caps in the reply {what}"),
            )?;
            env.expect_slot(recv_slot, !r.can_grant(), &what)?;
            path(minted).delete().ctx("delete")?;
        }
    }
    Ok(())
}

/// Waits on `[ntfn]` (`[_, 1]`: polls instead); returns the badge bits.
fn h_wait_or_poll(_: &Ipc, a: [u64; 4]) -> u64 {
    if a[1] != 0 { sys::poll(a[0]) } else { sys::wait(a[0]) }
}

fn notification_rights(env: &mut Env) -> TestResult {
    let n = env.notification()?.bits();
    let s = env.mint(n, CapRights::all(), 1 << 16)?;
    let fault_ep = env.endpoint()?.bits();
    for i in 0..16 {
        let r = rights(i);
        let what = alloc::format!("rights {i:#x}");
        let c = env.mint(n, r, 1 << i)?;
        sys::signal(c);
        let want = if r.can_write() { 1 << i } else { 0 };
        ensure_eq(sys::poll(n), want, &alloc::format!("signal with {what}"))?;
        for poll in [false, true] {
            let what = alloc::format!("{} with {what}", if poll { "poll" } else { "wait" });
            if poll {
                sys::signal(s);
            }
            let h = Spawn::new(h_wait_or_poll).args([c, poll as u64, 0, 0]).fault_ep(fault_ep);
            let t = env.spawn(h)?;
            if r.can_read() {
                if !poll {
                    sys::signal(s);
                }
                env.join_expect(&t, 1 << 16, &what)?;
            } else {
                let f = env.expect_fault(fault_ep, FaultLabel::CapFault, &what)?;
                ensure_eq((f.mr[1], f.mr[2]), (c, 1), "cap fault cptr and receive phase")?;
                t.tcb.tcb_suspend().ctx("suspend")?;
            }
            sys::poll(n);
        }
    }
    Ok(())
}

/// Executes an undefined instruction; returns 0 if resumed past it.
pub fn h_udf(_: &Ipc, _: [u64; 4]) -> u64 {
    // SAFETY: raises an undefined-instruction exception and touches
    // nothing; the fault handler decides whether the thread goes on.
    unsafe { asm!("udf #7", options(nomem, nostack)) };
    0
}

fn fault_ep_rights(env: &mut Env) -> TestResult {
    let ep = env.endpoint()?.bits();
    for i in 0..16 {
        let r = rights(i);
        let ok = r.can_write() && (r.can_grant() || r.can_grant_reply());
        let f = env.mint(ep, r, 0x40 + i)?;
        let t = env.spawn(Spawn::new(h_udf).fault_ep(f))?;
        // The helper (of higher priority) has faulted by now.
        let m = env.ipc.nb_recv(ep);
        let what = alloc::format!("fault endpoint with rights {i:#x}");
        if ok {
            ensure_eq(m.label(), FaultLabel::UserException as u64, &what)?;
            ensure_eq(m.badge, 0x40 + i, &what)?;
        } else {
            ensure_eq((m.label(), m.badge), (0, 0), &alloc::format!("{what}: message received"))?;
        }
        t.tcb.tcb_suspend().ctx("suspend")?;
    }
    Ok(())
}
