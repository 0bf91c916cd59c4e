//! Helper threads: a Rust function run by a thread of its own, in the root
//! task's address space and CSpace ([`Env::spawn`]) or in a fresh VSpace
//! and CNode of its own ([`Env::spawn_process`]).
//!
//! Each helper has a stack and an IPC buffer page of its own, mapped at its
//! slot of the helper region (see `env`). It starts in [`trampoline`], which
//! calls the function with an [`Ipc`] on its buffer and four argument words,
//! then reports the function's result by a `Call` on the test's done
//! endpoint (badged with the helper's number) and so stays blocked until the
//! test ends. Unless the test names another, the same badged endpoint is the
//! helper's fault endpoint, so [`Env::join`] also learns of a helper that
//! faulted.
//!
//! A process shares nothing with the root task but the physical frames of
//! the program image, mapped at the same addresses (so the same code runs
//! there, and statics are shared memory). Its CNode holds, at slot 1, its
//! done endpoint, then whatever caps the test gives it.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sel4::init_thread::slot;
use sel4::{CNodeCapData, CPtr, CapRights, UserContext, VmAttributes, cap};
use sel4_sys::{FaultLabel, IpcBuffer, MessageInfo};

use crate::check::{Context, Fail, TestResult};
use crate::env::{
    DONE_LABEL, Env, HELPER_BASE, HELPER_PRIO, HELPER_STACK_PAGES, HELPER_STRIDE, HelperOutcome,
    MAX_HELPERS, PAGE, cap_at, path,
};
use crate::sys::Ipc;

/// What a helper runs: its IPC buffer and four argument words in, a result
/// word out.
pub type HelperFn = fn(&Ipc, [u64; 4]) -> u64;

/// Radix of a process's CNode.
pub const PROCESS_CNODE_BITS: usize = 8;
/// Slot of a process's CNode holding its done endpoint.
pub const PROCESS_DONE_SLOT: u64 = 1;

/// How to start a helper.
#[derive(Clone, Copy)]
pub struct Spawn {
    f: HelperFn,
    args: [u64; 4],
    prio: u64,
    fault_ep: Option<u64>,
    start: bool,
}

impl Spawn {
    pub fn new(f: HelperFn) -> Spawn {
        Spawn { f, args: [0; 4], prio: HELPER_PRIO, fault_ep: None, start: true }
    }

    #[must_use]
    pub fn args(mut self, args: [u64; 4]) -> Spawn {
        self.args = args;
        self
    }

    #[must_use]
    pub fn prio(mut self, prio: u64) -> Spawn {
        self.prio = prio;
        self
    }

    /// The fault endpoint, a cptr in the helper's CSpace (0: none).
    #[must_use]
    pub fn fault_ep(mut self, cptr: u64) -> Spawn {
        self.fault_ep = Some(cptr);
        self
    }

    /// Leave the thread suspended (start it with [`Thread::start`]).
    #[must_use]
    pub fn suspended(mut self) -> Spawn {
        self.start = false;
        self
    }
}

/// A helper thread.
#[derive(Clone, Copy, Debug)]
pub struct Thread {
    pub tcb: cap::Tcb,
    /// Its number: the badge of its done (and default fault) endpoint.
    pub id: u64,
    /// The top of its stack (in its own address space).
    pub stack_top: u64,
    /// The registers it starts with.
    pub regs: UserContext,
}

impl Thread {
    /// Starts a helper spawned [`suspended`](Spawn::suspended).
    pub fn start(&self) -> TestResult {
        self.tcb.tcb_write_all_registers(true, &self.regs).ctx("starting a helper")
    }
}

/// A helper in an address space and CSpace of its own.
#[derive(Clone, Copy, Debug)]
pub struct Process {
    pub thread: Thread,
    pub cnode: cap::CNode,
    pub vspace: cap::VSpace,
}

impl Process {
    /// Copies the root task's cap in `src` into slot `index` of the process's
    /// CNode, with `rights` and `badge` (a mint when `badge` is not 0).
    pub fn give(&self, index: u64, src: u64, rights: CapRights, badge: u64) -> TestResult {
        give(self.cnode, index, src, rights, badge)
    }
}

fn give(cnode: cap::CNode, index: u64, src: u64, rights: CapRights, badge: u64) -> TestResult {
    let dst = cnode.absolute_cptr_from_bits_with_depth(index, PROCESS_CNODE_BITS);
    if badge == 0 {
        dst.copy(&path(src), rights).ctx("giving a cap to a process")
    } else {
        dst.mint(&path(src), rights, badge).ctx("giving a cap to a process")
    }
}

/// Where every helper starts: x0 the function, x1-x4 its arguments, x5 the
/// IPC buffer, x6 the cptr of the done endpoint.
extern "C" fn trampoline(f: usize, a0: u64, a1: u64, a2: u64, a3: u64, buf: u64, done: u64) -> ! {
    // SAFETY: the spawner passes the IPC buffer it configured for this
    // thread, a page used by nothing else.
    let ipc = unsafe { Ipc::new(buf as *mut IpcBuffer) };
    // SAFETY: the spawner passes a `HelperFn` cast to an address; function
    // pointers and addresses have the same size.
    let f = unsafe { core::mem::transmute::<usize, HelperFn>(f) };
    let r = f(&ipc, [a0, a1, a2, a3]);
    loop {
        ipc.set_mr(0, r);
        ipc.call(done, MessageInfo::new(DONE_LABEL, 0, 0, 1));
    }
}

impl Env {
    /// The test's done endpoint, made on first use.
    fn done_ep(&mut self) -> TestResult<u64> {
        if let Some(ep) = self.done_ep {
            return Ok(ep);
        }
        let ep = self.endpoint()?.bits();
        self.done_ep = Some(ep);
        Ok(ep)
    }

    /// Takes the next helper number and its region.
    fn next_helper(&mut self) -> TestResult<(u64, u64)> {
        if self.helpers == MAX_HELPERS {
            return Err(Fail("too many helpers".into()));
        }
        self.helpers += 1;
        Ok((self.helpers, HELPER_BASE + (self.helpers - 1) * HELPER_STRIDE))
    }

    /// Maps a helper's stack and IPC buffer pages at `base` in `vspace`;
    /// returns the stack top and the IPC buffer's frame.
    fn helper_memory(&mut self, vspace: cap::VSpace, base: u64) -> TestResult<(u64, cap::Granule)> {
        let attrs = VmAttributes::DEFAULT | VmAttributes::EXECUTE_NEVER;
        for i in 0..HELPER_STACK_PAGES {
            let f: cap::Granule = self.obj()?;
            self.map(vspace, f, base + (1 + i) * PAGE, CapRights::read_write(), attrs)?;
        }
        let buf: cap::Granule = self.obj()?;
        self.map(
            vspace,
            buf,
            base + (2 + HELPER_STACK_PAGES) * PAGE,
            CapRights::read_write(),
            attrs,
        )?;
        Ok((base + (1 + HELPER_STACK_PAGES) * PAGE, buf))
    }

    fn start_regs(s: &Spawn, stack_top: u64, ipc_buffer: u64, done: u64) -> UserContext {
        let mut regs = UserContext::default();
        *regs.pc_mut() = trampoline as *const () as u64;
        *regs.sp_mut() = stack_top;
        let words = [s.f as usize as u64, s.args[0], s.args[1], s.args[2], s.args[3], ipc_buffer];
        for (i, w) in words.into_iter().enumerate() {
            *regs.gpr_mut(i) = w;
        }
        *regs.gpr_mut(6) = done;
        regs
    }

    fn launch(&mut self, tcb: cap::Tcb, s: &Spawn, regs: UserContext) -> TestResult {
        self.tcbs.push(tcb);
        tcb.tcb_set_priority(slot::TCB.cap(), s.prio).ctx("helper priority")?;
        if s.start {
            tcb.tcb_write_all_registers(true, &regs).ctx("starting a helper")?;
        }
        Ok(())
    }

    /// Starts a helper in the root task's address space and CSpace.
    pub fn spawn(&mut self, s: Spawn) -> TestResult<Thread> {
        let (id, base) = self.next_helper()?;
        let (stack_top, buf) = self.helper_memory(slot::VSPACE.cap(), base)?;
        let ipc_buffer = stack_top + PAGE;
        let done_ep = self.done_ep()?;
        let done = self.mint(done_ep, CapRights::all(), id)?;
        let tcb = self.tcb()?;
        let fault = s.fault_ep.unwrap_or(done);
        tcb.tcb_configure(
            CPtr::from_bits(fault),
            slot::CNODE.cap(),
            CNodeCapData::skip(64 - self.cnode_bits),
            slot::VSPACE.cap(),
            ipc_buffer,
            buf,
        )
        .ctx("configuring a helper")?;
        let regs = Self::start_regs(&s, stack_top, ipc_buffer, done);
        self.launch(tcb, &s, regs)?;
        Ok(Thread { tcb, id, stack_top, regs })
    }

    /// Starts a helper in a VSpace and CNode of its own, giving it the caps
    /// `caps` first: `(index in its CNode, root slot, rights, badge)`. Its
    /// fault endpoint (default: its done endpoint) is a cptr in its CNode.
    pub fn spawn_process(
        &mut self,
        s: Spawn,
        caps: &[(u64, u64, CapRights, u64)],
    ) -> TestResult<Process> {
        let (id, base) = self.next_helper()?;
        let cnode = self.cnode(PROCESS_CNODE_BITS)?;
        let vspace = self.vspace()?;
        let image: Vec<_> = self.image.clone();
        for f in image {
            let copy = self.copy(f.slot, CapRights::all())?;
            if f.size_bits == 21 {
                self.map(
                    vspace,
                    cap_at::<sel4::cap_type::LargePage>(copy),
                    f.vaddr,
                    CapRights::read_write(),
                    VmAttributes::DEFAULT,
                )
            } else {
                self.map(
                    vspace,
                    cap_at::<sel4::cap_type::Granule>(copy),
                    f.vaddr,
                    CapRights::read_write(),
                    VmAttributes::DEFAULT,
                )
            }
            .ctx("mapping the image in a process")?;
        }
        let (stack_top, buf) = self.helper_memory(vspace, base)?;
        let ipc_buffer = stack_top + PAGE;
        let done_ep = self.done_ep()?;
        give(cnode, PROCESS_DONE_SLOT, done_ep, CapRights::all(), id)?;
        for &(index, src, rights, badge) in caps {
            give(cnode, index, src, rights, badge)?;
        }
        let tcb = self.tcb()?;
        tcb.tcb_configure(
            CPtr::from_bits(s.fault_ep.unwrap_or(PROCESS_DONE_SLOT)),
            cnode,
            CNodeCapData::skip(64 - PROCESS_CNODE_BITS),
            vspace,
            ipc_buffer,
            buf,
        )
        .ctx("configuring a process")?;
        let regs = Self::start_regs(&s, stack_top, ipc_buffer, PROCESS_DONE_SLOT);
        self.launch(tcb, &s, regs)?;
        Ok(Process { thread: Thread { tcb, id, stack_top, regs }, cnode, vspace })
    }

    /// The test's done endpoint, if a helper was started.
    pub fn done_endpoint(&self) -> Option<u64> {
        self.done_ep
    }

    /// Takes a helper's report from the done endpoint if one is queued:
    /// the helper's number and outcome.
    pub fn poll_done(&mut self) -> Option<(u64, HelperOutcome)> {
        let done_ep = self.done_ep?;
        let m = self.ipc.nb_recv(done_ep);
        if m.badge == 0 {
            return None;
        }
        let outcome = if m.label() == DONE_LABEL {
            Ok(self.ipc.mr(0))
        } else {
            Err(format!("helper {} faulted: {}", m.badge, describe_fault(&self.ipc, m.label())))
        };
        Some((m.badge, outcome))
    }

    /// Waits for helper `t` to finish; its result word, or a failure if it
    /// faulted.
    pub fn join(&mut self, t: &Thread) -> TestResult<u64> {
        let done_ep = self.done_ep()?;
        loop {
            if let Some(i) = self.outcomes.iter().position(|(id, _)| *id == t.id) {
                let (_, r) = self.outcomes.remove(i);
                return r.map_err(Fail);
            }
            let m = self.ipc.recv(done_ep);
            let outcome = if m.label() == DONE_LABEL {
                Ok(self.ipc.mr(0))
            } else {
                Err(format!("helper {} faulted: {}", m.badge, describe_fault(&self.ipc, m.label())))
            };
            self.outcomes.push((m.badge, outcome));
        }
    }

    /// Joins `t` and fails unless its result is `want`.
    pub fn join_expect(&mut self, t: &Thread, want: u64, what: &str) -> TestResult {
        let got = self.join(t)?;
        crate::check::ensure_eq(got, want, what)
    }
}

/// A fault message just received into an IPC buffer, displayed for
/// failure messages (without allocating: the watchdog prints it too).
pub struct FaultText<'a>(pub &'a Ipc, pub u64);

impl core::fmt::Display for FaultText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mr = |i| self.0.mr(i);
        match self.1 {
            l if l == FaultLabel::CapFault as u64 => write!(
                f,
                "cap fault at pc {:#x} on cptr {:#x} (receive phase {}, lookup failure {})",
                mr(0),
                mr(1),
                mr(2),
                mr(3)
            ),
            l if l == FaultLabel::UnknownSyscall as u64 => {
                write!(f, "unknown syscall {} at pc {:#x}", mr(12) as i64, mr(8))
            }
            l if l == FaultLabel::UserException as u64 => {
                write!(f, "user exception class {:#x} at pc {:#x}", mr(3), mr(0))
            }
            l if l == FaultLabel::VmFault as u64 => {
                write!(f, "VM fault at pc {:#x} on address {:#x} (fsr {:#x})", mr(0), mr(1), mr(3))
            }
            l if l == FaultLabel::VcpuFault as u64 => {
                write!(f, "VCPU fault, syndrome {:#x} (class {:#x})", mr(0), mr(0) >> 26)
            }
            l if l == FaultLabel::VgicMaintenance as u64 => {
                write!(f, "VGIC maintenance, list register {:#x}", mr(0))
            }
            l if l == FaultLabel::VppiEvent as u64 => write!(f, "VPPI event, IRQ {}", mr(0)),
            l => write!(f, "message with label {l}"),
        }
    }
}

/// [`FaultText`] as a string.
pub fn describe_fault(ipc: &Ipc, label: u64) -> String {
    format!("{}", FaultText(ipc, label))
}

/// A fault received on an endpoint: badge, label and message words.
#[derive(Clone, Copy, Debug)]
pub struct FaultMsg {
    pub badge: u64,
    pub label: u64,
    pub length: u64,
    pub mr: [u64; 14],
}

impl Env {
    /// Receives one message on `ep` and keeps its first 14 words.
    pub fn recv_fault(&mut self, ep: u64) -> FaultMsg {
        let m = self.ipc.recv(ep);
        let mut mr = [0; 14];
        for (i, w) in mr.iter_mut().enumerate() {
            *w = self.ipc.mr(i);
        }
        FaultMsg { badge: m.badge, label: m.label(), length: m.length(), mr }
    }

    /// Receives a fault on `ep` and fails unless it has `label`.
    pub fn expect_fault(&mut self, ep: u64, label: FaultLabel, what: &str) -> TestResult<FaultMsg> {
        let f = self.recv_fault(ep);
        if f.label == DONE_LABEL {
            return Err(Fail(format!(
                "{what}: the helper finished (result {:#x}) without a fault",
                f.mr[0]
            )));
        }
        crate::check::ensure(f.label == label as u64, || {
            format!("{what}: expected a {label:?}, got {}", describe_fault(&self.ipc, f.label))
        })?;
        Ok(f)
    }
}

/// A word of helper results: `fail(code)` marks a failed check inside a
/// helper (whose results the test compares against 0).
pub const fn fail(code: u64) -> u64 {
    0xbad0_0000 | code
}
