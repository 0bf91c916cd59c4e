//! The IPC syscalls: `Send`, `NBSend`, `Call`, `Recv`, `NBRecv`, `Reply`,
//! `ReplyRecv`, `Yield`, and `Signal`/`Wait`/`Poll` on notifications.
//!
//! Like libsel4, the stubs load message registers 0-3 from the IPC buffer
//! into `x2`-`x5` and, for the syscalls that receive, store what the kernel
//! returns there back into it, so callers read and write the whole message
//! through [`IpcBuffer::msg_regs`]. The notification calls carry no message and do
//! not touch the IPC buffer.

use core::ptr;

use crate::arch::{Regs, syscall};
use crate::{Cap, CapType, IpcBuffer, MessageInfo, Word, cap, sys::Syscall, with_ipc_buffer_mut};

/// Message registers a message can carry.
pub const NUM_MESSAGE_REGISTERS: usize = crate::sys::message::MSG_MAX_LENGTH;
/// Message registers passed in CPU registers.
pub const NUM_FAST_MESSAGE_REGISTERS: usize = crate::sys::syscall::MSG_REGISTERS_IN_CPU;

/// A badge: the word a minted endpoint or notification cap delivers.
pub type Badge = Word;

/// What `Recv` needs to be able to reply: nothing on this (non-MCS)
/// kernel, where the reply goes to the last caller. Pass `()`, as with
/// rust-sel4 on a non-MCS configuration.
pub type ReplyAuthority = ();

/// What [`Cap::<Notification>::wait`](crate::cap::Notification::wait)
/// returns besides the badge: nothing on a non-MCS kernel.
pub type WaitMessageInfo = ();

/// Enters the kernel with a message: MRs 0-3 go out from the buffer and,
/// for the syscalls that receive one, the kernel's come back into it (a
/// send leaves the buffer as it was). Returns (x0, x1): badge and info.
fn with_message(buf: &mut IpcBuffer, number: Syscall, cptr: Word, info: Word) -> (Word, Word) {
    let mr = buf.msg_regs();
    let regs = [cptr, info, mr[0], mr[1], mr[2], mr[3]];
    // SAFETY: `buf` is this thread's IPC buffer, borrowed mutably here.
    let [x0, x1, out @ ..] = unsafe { syscall(number, regs, buf) };
    let receives =
        matches!(number, Syscall::Call | Syscall::Recv | Syscall::NBRecv | Syscall::ReplyRecv);
    if receives {
        buf.msg_regs_mut()[..NUM_FAST_MESSAGE_REGISTERS].copy_from_slice(&out);
    }
    (x0, x1)
}

/// Enters the kernel for a syscall that carries no message.
fn without_message(number: Syscall, cptr: Word, info: Word) -> Regs {
    // SAFETY: no IPC buffer is passed; these calls transfer no message.
    unsafe { syscall(number, [cptr, info, 0, 0, 0, 0], ptr::null_mut()) }
}

/// `Call` on `dest` with the message in `buf`; the reply replaces it.
pub(crate) fn call_with(buf: &mut IpcBuffer, dest: Word, info: MessageInfo) -> MessageInfo {
    let (_, info) = with_message(buf, Syscall::Call, dest, info.into_inner().0);
    MessageInfo::from_inner(crate::sys::MessageInfo(info))
}

fn received(regs: (Word, Word)) -> (MessageInfo, Badge) {
    (MessageInfo::from_inner(crate::sys::MessageInfo(regs.1)), regs.0)
}

impl<T: CapType> Cap<T> {
    /// `seL4_Send`: sends the message in the IPC buffer, blocking until it
    /// is delivered.
    pub fn send(self, info: MessageInfo) {
        with_ipc_buffer_mut(|b| with_message(b, Syscall::Send, self.bits(), info.into_inner().0));
    }

    /// `seL4_NBSend`: sends if a receiver is waiting, else drops the message.
    pub fn nb_send(self, info: MessageInfo) {
        with_ipc_buffer_mut(|b| with_message(b, Syscall::NBSend, self.bits(), info.into_inner().0));
    }

    /// `seL4_Recv`: waits for a message (into the IPC buffer) or a signal.
    pub fn recv(self, _reply_authority: ReplyAuthority) -> (MessageInfo, Badge) {
        with_ipc_buffer_mut(|b| received(with_message(b, Syscall::Recv, self.bits(), 0)))
    }

    /// `seL4_NBRecv`: receives if a sender is waiting; otherwise returns at
    /// once with an empty message and badge 0.
    pub fn nb_recv(self, _reply_authority: ReplyAuthority) -> (MessageInfo, Badge) {
        with_ipc_buffer_mut(|b| received(with_message(b, Syscall::NBRecv, self.bits(), 0)))
    }

    /// `seL4_Call`: sends the message and waits for the reply, which
    /// replaces it in the IPC buffer. Invoking a kernel object is a call.
    pub fn call(self, info: MessageInfo) -> MessageInfo {
        with_ipc_buffer_mut(|b| call_with(b, self.bits(), info))
    }

    /// `seL4_ReplyRecv`: replies to the last caller with the message in the
    /// IPC buffer, then waits on this cap as [`Cap::recv`].
    pub fn reply_recv(
        self,
        info: MessageInfo,
        _reply_authority: ReplyAuthority,
    ) -> (MessageInfo, Badge) {
        with_ipc_buffer_mut(|b| {
            received(with_message(b, Syscall::ReplyRecv, self.bits(), info.into_inner().0))
        })
    }
}

impl cap::Notification {
    /// `seL4_Signal`: sets the cap's badge bits in the notification.
    pub fn signal(self) {
        without_message(Syscall::Send, self.bits(), 0);
    }

    /// `seL4_Wait`: blocks until the word is non-zero, returns and clears it.
    pub fn wait(self) -> (WaitMessageInfo, Badge) {
        let [badge, ..] = without_message(Syscall::Recv, self.bits(), 0);
        ((), badge)
    }

    /// `seL4_Poll`: returns and clears the word (0 if nothing was signalled).
    pub fn poll(self) -> (MessageInfo, Badge) {
        let [badge, info, ..] = without_message(Syscall::NBRecv, self.bits(), 0);
        (MessageInfo::from_inner(crate::sys::MessageInfo(info)), badge)
    }
}

/// `seL4_Reply`: replies to the last caller with the message in `ipc_buffer`.
pub fn reply(ipc_buffer: &mut IpcBuffer, info: MessageInfo) {
    with_message(ipc_buffer, Syscall::Reply, 0, info.into_inner().0);
}

/// `seL4_Yield`: lets the other threads of this priority run.
pub fn r#yield() {
    without_message(Syscall::Yield, 0, 0);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use super::*;
    use crate::{arch::mock, set_ipc_buffer, with_ipc_buffer};

    type Log = Arc<Mutex<Vec<(Syscall, Regs, bool)>>>;

    /// A kernel that logs each call and answers badge 9, info label 5
    /// length 4, MRs 10-13.
    fn echo_kernel() -> Log {
        set_ipc_buffer(Box::leak(Box::default()));
        let log = Log::default();
        let l = log.clone();
        mock::install(move |n, regs, buf| {
            l.lock().unwrap().push((n, regs, buf.is_some()));
            [9, 5 << 12 | 4, 10, 11, 12, 13]
        });
        log
    }

    #[test]
    fn call_passes_fast_registers_both_ways() {
        let log = echo_kernel();
        with_ipc_buffer_mut(|b| b.msg_regs_mut()[..5].copy_from_slice(&[1, 2, 3, 4, 5]));
        let reply = cap::Endpoint::from_bits(3).call(MessageInfo::new(7, 0, 0, 5));
        assert_eq!((reply.label(), reply.length()), (5, 4));
        let (n, regs, with_buf) = log.lock().unwrap()[0];
        assert_eq!((n, with_buf), (Syscall::Call, true));
        assert_eq!(regs, [3, 7 << 12 | 5, 1, 2, 3, 4]);
        with_ipc_buffer(|b| assert_eq!(&b.msg_regs()[..5], &[10, 11, 12, 13, 5]));
    }

    #[test]
    fn recv_returns_badge_and_info() {
        let log = echo_kernel();
        let (info, badge) = cap::Endpoint::from_bits(4).recv(());
        assert_eq!((info.label(), badge), (5, 9));
        cap::Endpoint::from_bits(4).reply_recv(MessageInfo::new(1, 0, 0, 0), ());
        cap::Endpoint::from_bits(4).nb_recv(());
        cap::Endpoint::from_bits(4).send(MessageInfo::default());
        cap::Endpoint::from_bits(4).nb_send(MessageInfo::default());
        with_ipc_buffer_mut(|b| reply(b, MessageInfo::new(2, 0, 0, 1)));
        let calls: Vec<_> = log.lock().unwrap().iter().map(|c| (c.0, c.1[0], c.1[1])).collect();
        assert_eq!(
            calls,
            [
                (Syscall::Recv, 4, 0),
                (Syscall::ReplyRecv, 4, 1 << 12),
                (Syscall::NBRecv, 4, 0),
                (Syscall::Send, 4, 0),
                (Syscall::NBSend, 4, 0),
                (Syscall::Reply, 0, 2 << 12 | 1),
            ]
        );
    }

    #[test]
    fn sends_leave_the_message_in_place() {
        echo_kernel();
        with_ipc_buffer_mut(|b| b.msg_regs_mut()[..4].copy_from_slice(&[1, 2, 3, 4]));
        cap::Endpoint::from_bits(4).send(MessageInfo::new(0, 0, 0, 4));
        cap::Endpoint::from_bits(4).nb_send(MessageInfo::new(0, 0, 0, 4));
        with_ipc_buffer_mut(|b| reply(b, MessageInfo::new(0, 0, 0, 4)));
        with_ipc_buffer(|b| assert_eq!(&b.msg_regs()[..4], &[1, 2, 3, 4]));
    }

    #[test]
    fn notifications_do_not_touch_the_buffer() {
        let log = echo_kernel();
        let n = cap::Notification::from_bits(6);
        n.signal();
        assert_eq!(n.wait(), ((), 9));
        assert_eq!(n.poll().1, 9);
        r#yield();
        let calls: Vec<_> = log.lock().unwrap().iter().map(|c| (c.0, c.1[0], c.2)).collect();
        assert_eq!(
            calls,
            [
                (Syscall::Send, 6, false),
                (Syscall::Recv, 6, false),
                (Syscall::NBRecv, 6, false),
                (Syscall::Yield, 0, false),
            ]
        );
    }
}
