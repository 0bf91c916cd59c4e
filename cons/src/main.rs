//! The cons program: drives the PL011 it is given (`uart`, a device
//! untyped of its registers; `uart_irq`, its IRQ) and serves log channels
//! on its `cons` cap (the server end of the script's `log_fab`):
//!
//! - badge 0, the factory: `CREATE(tag, colour)` makes a client and answers
//!   with a channel badged for it (program-env's log protocol);
//! - a client's badge: `WRITE` (written tagged before the call returns,
//!   so a fast writer waits: the focused client's bytes as they come,
//!   other clients' lines whole), `READ` (answered when the
//!   client has typed input; until then its reply cap is saved);
//! - the UART's interrupt, on a notification bound to the thread: typed
//!   bytes go through [`cons::mux`] (Ctrl-E focus and prompt).
//!
//! Memory for its own objects (page tables, the notification) comes from
//! its `mem` untyped. `-a` shows every client's output (else only the
//! focused client's).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write as _;

use cons::mux::{Action, Mux};
use pl011::Pl011;
use program_env::{log, slot};
use sel4::{CPtr, CapRights, Error, MessageInfo, ObjectBlueprint, VmAttributes, cap};
use sel4_runtime::{env, get_cap, println};

/// Where the UART's registers are mapped.
const UART_VADDR: u64 = 0x1000_0000;
/// Badge bit of the UART interrupt on the bound notification.
const IRQ_BADGE: u64 = 1 << 62;
/// Own slots for objects made here (above the named caps).
const S_FRAME: u64 = slot::NAMED_END;
const S_NTFN: u64 = S_FRAME + 1;
const S_NTFN_IRQ: u64 = S_FRAME + 2;
const S_TABLES: u64 = S_FRAME + 8;
/// Client channels and saved readers, per client.
const S_CLIENTS: u64 = S_FRAME + 64;
const S_READERS: u64 = S_CLIENTS + 1024;
const MAX_CLIENTS: usize = 1024;

fn own_cnode() -> cap::CNode {
    CPtr::from_bits(slot::CNODE).cast()
}

fn at(s: u64) -> sel4::AbsoluteCPtr {
    own_cnode().absolute_cptr_from_bits_with_depth(s, program_env::CNODE_BITS)
}

fn fail(what: &str) -> ! {
    println!("cons: {what}");
    sel4_runtime::exit(1)
}

/// Maps the UART and hooks its interrupt to a notification bound to us.
fn setup(uart: cap::Untyped, irq: cap::IrqHandler, mem: cap::Untyped) -> Result<Pl011, Error> {
    let me = own_cnode().absolute_cptr_for_self();
    uart.untyped_retype(&ObjectBlueprint::SmallPage, &me, S_FRAME as usize, 1)?;
    let frame: cap::Granule = CPtr::from_bits(S_FRAME).cast();
    let vspace: cap::VSpace = CPtr::from_bits(slot::VSPACE).cast();
    let attrs = VmAttributes::NONE | VmAttributes::EXECUTE_NEVER;
    let mut tables = S_TABLES;
    loop {
        match frame.frame_map(vspace, UART_VADDR as usize, CapRights::read_write(), attrs) {
            Ok(()) => break,
            Err(Error::FailedLookup) if tables < S_TABLES + 3 => {
                mem.untyped_retype(&ObjectBlueprint::PageTable, &me, tables as usize, 1)?;
                let pt: cap::PageTable = CPtr::from_bits(tables).cast();
                pt.page_table_map(vspace, UART_VADDR as usize, VmAttributes::DEFAULT)?;
                tables += 1;
            }
            Err(e) => return Err(e),
        }
    }
    mem.untyped_retype(&ObjectBlueprint::Notification, &me, S_NTFN as usize, 1)?;
    at(S_NTFN_IRQ).mint(&at(S_NTFN), CapRights::write_only(), IRQ_BADGE)?;
    irq.irq_handler_set_notification(CPtr::from_bits(S_NTFN_IRQ).cast())?;
    let tcb: cap::Tcb = CPtr::from_bits(slot::TCB).cast();
    tcb.tcb_bind_notification(CPtr::from_bits(S_NTFN).cast())?;
    // SAFETY: the UART's registers are mapped read-write, uncached, at
    // UART_VADDR for the rest of the program, and only this value uses them.
    let mut uart = unsafe { Pl011::new(UART_VADDR as usize) };
    uart.enable_rx_interrupt();
    irq.irq_handler_ack()?;
    Ok(uart)
}

struct Cons {
    mux: Mux,
    uart: Pl011,
    irq: cap::IrqHandler,
    /// Per client: the most bytes a saved reader asked for.
    readers: Vec<Option<usize>>,
}

impl Cons {
    fn out(uart: &mut Pl011, s: &[u8]) {
        for &b in s {
            uart.write_byte(b);
        }
    }

    fn on_irq(&mut self) {
        // Clear first, then drain: a byte arriving after the drain raises
        // the interrupt again instead of waiting unseen in the FIFO.
        self.uart.clear_rx_interrupt();
        while let Some(b) = self.uart.read_byte() {
            for a in self.mux.key(b) {
                match a {
                    Action::Echo(s) => Self::out(&mut self.uart, &s),
                    Action::Input(n) => self.wake_reader(n),
                }
            }
        }
        let _ = self.irq.irq_handler_ack();
    }

    /// Answers client `n`'s saved read, if it has one and input is there.
    fn wake_reader(&mut self, n: usize) {
        let Some(max) = self.readers[n] else { return };
        let data = self.mux.read(n, max);
        if data.is_empty() {
            return;
        }
        self.readers[n] = None;
        let words = read_reply(&data);
        let r: cap::Endpoint = CPtr::from_bits(S_READERS + n as u64).cast();
        r.send(MessageInfo::new(0, 0, 0, words));
    }

    fn create(&mut self, info: &MessageInfo) -> MessageInfo {
        let (tag, colour) = sel4::with_ipc_buffer(|b| {
            let mr = b.msg_regs();
            let mut tag = [0u8; 8];
            let len = (mr[0] as usize).min(8);
            let t = program_env::unpack_bytes(&mr[1..2], len, &mut tag).unwrap_or(&[]);
            (alloc::string::String::from_utf8_lossy(t).into_owned(), mr[2])
        });
        if info.length() < 3 || self.mux.clients.len() == MAX_CLIENTS {
            return MessageInfo::new(Error::InvalidArgument as u64, 0, 0, 0);
        }
        let colour =
            if colour == 0 { alloc::string::String::new() } else { alloc::format!("{colour}") };
        let n = self.mux.create(&tag, &colour);
        self.readers.push(None);
        let dst = S_CLIENTS + n as u64;
        let ep = get_cap!("cons").map_or(0, |c: cap::Endpoint| c.bits());
        let rights = CapRights::new(true, false, false, true);
        if at(dst).mint(&at(ep), rights, n as u64 + 1).is_err() {
            return MessageInfo::new(Error::InvalidCapability as u64, 0, 0, 0);
        }
        sel4::with_ipc_buffer_mut(|b| b.caps_or_badges_mut()[0] = dst);
        MessageInfo::new(0, 0, 1, 0)
    }

    fn write(&mut self, n: usize, info: &MessageInfo) -> MessageInfo {
        let mut bytes = [0u8; log::MAX_WRITE];
        let len = sel4::with_ipc_buffer(|b| {
            let mr = &b.msg_regs()[..info.length().min(b.msg_regs().len())];
            let want = mr.first().map_or(0, |w| (*w as usize).min(log::MAX_WRITE));
            mr.get(1..)
                .and_then(|m| program_env::unpack_bytes(m, want, &mut bytes))
                .map_or(0, |s| s.len())
        });
        let uart = &mut self.uart;
        self.mux.write(n, &bytes[..len], &mut |s| Self::out(uart, s));
        sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = len as u64);
        MessageInfo::new(0, 0, 0, 1)
    }

    /// A read: answered now if there is input, else later (`None`).
    fn read(&mut self, n: usize) -> Option<MessageInfo> {
        let max = sel4::with_ipc_buffer(|b| b.msg_regs()[0] as usize).clamp(1, log::MAX_WRITE);
        let data = self.mux.read(n, max);
        if !data.is_empty() {
            return Some(MessageInfo::new(0, 0, 0, read_reply(&data)));
        }
        if at(S_READERS + n as u64).save_caller().is_err() {
            return Some(MessageInfo::new(Error::IllegalOperation as u64, 0, 0, 0));
        }
        self.readers[n] = Some(max);
        None
    }
}

/// Puts `data` into the message registers as a read's answer; the length.
fn read_reply(data: &[u8]) -> usize {
    sel4::with_ipc_buffer_mut(|b| {
        let mr = b.msg_regs_mut();
        mr[0] = data.len() as u64;
        1 + program_env::pack_bytes(data, &mut mr[1..])
    })
}

fn main(_: sel4::Word) {
    let show_all = env::args().any(|a| a == "-a");
    let Some(ep) = get_cap!("cons") else { fail("no `cons` cap (the server end of log_fab)") };
    let ep: cap::Endpoint = ep;
    let uart = get_cap!("uart").unwrap_or_else(|| fail("no `uart` cap (the PL011's registers)"));
    let irq = get_cap!("uart_irq").unwrap_or_else(|| fail("no `uart_irq` cap (the PL011's IRQ)"));
    let mem = get_cap!("mem").unwrap_or_else(|| fail("no `mem` cap"));
    let uart = match setup(uart, irq, mem) {
        Ok(u) => u,
        Err(e) => fail(&alloc::format!("setting up the UART: {e:?}")),
    };
    let mut c = Cons { mux: Mux::new(show_all), uart, irq, readers: Vec::new() };
    let _ = writeln!(Banner(&mut c.uart), "cons: serving (Ctrl-E . for the prompt)");
    let (mut info, mut badge) = ep.recv(());
    loop {
        let reply = if badge & IRQ_BADGE != 0 {
            c.on_irq();
            None
        } else if badge == 0 {
            Some(if info.label() == log::CREATE {
                c.create(&info)
            } else {
                MessageInfo::new(Error::IllegalOperation as u64, 0, 0, 0)
            })
        } else {
            let n = badge as usize - 1;
            match info.label() {
                _ if n >= c.mux.clients.len() => Some(MessageInfo::new(1, 0, 0, 0)),
                log::WRITE => Some(c.write(n, &info)),
                log::READ => c.read(n),
                _ => Some(MessageInfo::new(Error::IllegalOperation as u64, 0, 0, 0)),
            }
        };
        (info, badge) = match reply {
            Some(r) => ep.reply_recv(r, ()),
            None => ep.recv(()),
        };
    }
}

/// `\n` as `\r\n` to the UART.
struct Banner<'a>(&'a mut Pl011);

impl core::fmt::Write for Banner<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_str(s)
    }
}

sel4_runtime::declare_program!(main);
