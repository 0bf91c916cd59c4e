//! `nedtest`: what the ned QEMU tests start, one role per first argument.
//!
//! - `pong`: serves its `chan` cap: answers each call with the number it
//!   carried plus one; ends (exit code 0) when a call carries label STOP.
//! - `ping N [stop]`: calls `chan` N times and checks every answer; prints
//!   `N round trips`, sends STOP if asked, exits 0 (1 on a wrong answer).
//! - `attack`: tries caps it was not given: every slot of its CNode but its
//!   own, the slot where the victim keeps its channel, a rom/ module that is
//!   not there; prints what the kernel answered; last invokes a cptr past its
//!   CNode, for which the kernel raises a cap fault (the root task reports
//!   the crash).
//! - `crash`: writes to an unmapped address (a page fault).
//! - `flood ID N`: prints N numbered lines, each in three writes (so the
//!   console must keep other clients' lines from landing inside them).
//! - `echo`: reads typed lines from its log channel and prints
//!   `echo: got <line>`; ends after `quit`.
//! - `rom NAME`: maps rom/NAME and prints its size and first line.

#![no_std]
#![no_main]

use program_env::slot;
use sel4::{Error, MessageInfo, cap};
use sel4_runtime::{env, get_cap, println};

const STOP: u64 = 0x5709;

fn main(_: sel4::Word) {
    let mut args = env::args();
    let code = match args.next() {
        Some("pong") => pong(),
        Some("ping") => {
            let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
            ping(n, args.next() == Some("stop"))
        }
        Some("attack") => attack(),
        Some("crash") => crash(),
        Some("flood") => {
            let id = args.next().unwrap_or("?");
            flood(id, args.next().and_then(|a| a.parse().ok()).unwrap_or(100))
        }
        Some("echo") => echo(),
        Some("rom") => rom(args.next().unwrap_or("")),
        other => {
            println!("unknown role {other:?}; roles: pong, ping N [stop], attack, rom NAME");
            2
        }
    };
    sel4_runtime::exit(code)
}

fn chan() -> cap::Endpoint {
    match get_cap!("chan") {
        Some(c) => c,
        None => {
            println!("no cap named `chan`");
            sel4_runtime::exit(3)
        }
    }
}

fn pong() -> i64 {
    let ep = chan();
    let mut served = 0u64;
    let (mut info, _) = ep.recv(());
    loop {
        if info.label() == STOP {
            println!("served {served} calls; stopping");
            sel4::with_ipc_buffer_mut(|b| sel4::reply(b, MessageInfo::new(0, 0, 0, 0)));
            return 0;
        }
        served += 1;
        let v = sel4::with_ipc_buffer(|b| b.msg_regs()[0]);
        sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = v + 1);
        (info, _) = ep.reply_recv(MessageInfo::new(0, 0, 0, 1), ());
    }
}

fn ping(n: u64, stop: bool) -> i64 {
    let ep = chan();
    for i in 0..n {
        let v = i * 3 + 7;
        sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = v);
        let r = ep.call(MessageInfo::new(1, 0, 0, 1));
        let got = sel4::with_ipc_buffer(|b| b.msg_regs()[0]);
        if r.length() != 1 || got != v + 1 {
            println!("round trip {i}: sent {v}, got {got} (length {})", r.length());
            return 1;
        }
    }
    println!("{n} round trips");
    if stop {
        ep.call(MessageInfo::new(STOP, 0, 0, 0));
    }
    0
}

/// Invokes `cptr` as a TCB (suspend) and as a CNode (revoke of slot 1):
/// the kernel must refuse both.
fn probe(cptr: u64) -> Result<(), (Error, Error)> {
    let t: cap::Tcb = sel4::CPtr::from_bits(cptr).cast();
    let c: cap::CNode = sel4::CPtr::from_bits(cptr).cast();
    match (t.tcb_suspend(), c.absolute_cptr_from_bits_with_depth(1, 64).revoke()) {
        (Err(a), Err(b)) => Err((a, b)),
        _ => Ok(()),
    }
}

fn attack() -> i64 {
    let page = env::page();
    let mine = |s: u64| page.is_some_and(|p| p.caps().any(|c| c.slot == s));
    let (mut refused, mut succeeded) = (0u64, 0u64);
    let mut kinds = [0u64; 12];
    for s in slot::FAULT + 1..slot::END {
        if mine(s) {
            continue;
        }
        match probe(s) {
            Err((e, _)) => {
                refused += 1;
                kinds[(e as usize).min(11)] += 1;
            }
            Ok(()) => {
                succeeded += 1;
                println!("slot {s}: an invocation succeeded");
            }
        }
    }
    println!(
        "guessed slots: {refused} refused ({} invalid capability), {succeeded} succeeded",
        kinds[Error::InvalidCapability as usize]
    );
    // The victim keeps its channel in the first named slot after log, rom
    // and mem; here that slot is empty.
    let victims = slot::FIRST_NAMED + 3;
    let ep: cap::Endpoint = sel4::CPtr::from_bits(victims).cast();
    sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = 1);
    let r = ep.call(MessageInfo::new(1, 0, 0, 1));
    let answer = Error::ALL.iter().find(|e| **e as u64 == r.label());
    println!("the victim's channel slot {victims}: call refused with {answer:?}");
    match sel4_runtime::rom::open("no-such-module") {
        Err(e) => println!("rom/no-such-module: {e:?}"),
        Ok(_) => println!("rom/no-such-module: opened?"),
    }
    println!("now invoking cptr {:#x}, past the CNode", 1u64 << 40);
    let _ = probe(1 << 40);
    println!("the invocation past the CNode returned?");
    4
}

fn crash() -> i64 {
    println!("writing to an unmapped address");
    // SAFETY: none needed: the write faults on purpose, and the root task
    // stops this program.
    unsafe { core::ptr::write_volatile(0x10 as *mut u64, 1) };
    println!("the write went through?");
    5
}

fn flood(id: &str, n: u32) -> i64 {
    for i in 0..n {
        sel4_runtime::print!("{id} {i:04} ");
        sel4_runtime::print!("{}", "abcdefghijklmnopqrstuvwxyz0123456789");
        println!(" {id} end");
    }
    0
}

fn echo() -> i64 {
    println!("echo: ready");
    let mut line = [0u8; 128];
    let mut len = 0;
    let mut buf = [0u8; 64];
    loop {
        let Some(n) = sel4_runtime::read_input(&mut buf) else {
            println!("echo: no input channel");
            return 1;
        };
        for &b in &buf[..n] {
            if b == b'\r' || b == b'\n' {
                let text = core::str::from_utf8(&line[..len]).unwrap_or("?");
                println!("echo: got {text}");
                if text == "quit" {
                    return 0;
                }
                len = 0;
            } else if len < line.len() {
                line[len] = b;
                len += 1;
            }
        }
    }
}

fn rom(name: &str) -> i64 {
    match sel4_runtime::rom::open(name) {
        Ok(data) => {
            let first = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
            let first = core::str::from_utf8(first).unwrap_or("(not text)");
            println!("rom/{name}: {} bytes, first line: {first}", data.len());
            0
        }
        Err(e) => {
            println!("rom/{name}: {e:?}");
            1
        }
    }
}

sel4_runtime::declare_program!(main);
