//! Object invocations: a `Call` on the object's cap whose label selects
//! the method, arguments in message registers and caps as extra caps, in
//! the order `sel4_sys::InvocationLabel` documents for each label. The
//! reply label is 0 or an error code ([`Error::from_reply_label`]).
//!
//! Each submodule adds the methods of a few cap types, named as in
//! rust-sel4 (`tcb_resume`, `frame_map`, ...).

mod cnode;
mod irq;
mod tcb;
mod untyped;
mod vcpu;
mod vspace;

#[cfg(test)]
mod tests;

use crate::sys::InvocationLabel;
use crate::syscalls::call_with;
use crate::{CPtr, Error, IpcBuffer, MessageInfo, Result, Word, with_ipc_buffer_mut};

/// Invokes `service` with `label`, message words `args` and extra caps
/// `caps`; on success returns what `reply` reads from the reply.
pub(crate) fn invoke_with_reply<R>(
    service: CPtr,
    label: InvocationLabel,
    args: &[Word],
    caps: &[CPtr],
    reply: impl FnOnce(&IpcBuffer, MessageInfo) -> R,
) -> Result<R> {
    with_ipc_buffer_mut(|buf| {
        buf.msg_regs_mut()[..args.len()].copy_from_slice(args);
        for (slot, cap) in buf.caps_or_badges_mut().iter_mut().zip(caps) {
            *slot = cap.bits();
        }
        let info = MessageInfo::new(label as Word, 0, caps.len(), args.len());
        let answer = call_with(buf, service.bits(), info);
        Error::from_reply_label(answer.label()).map(|()| reply(buf, answer))
    })
}

/// Invokes `service` as [`invoke_with_reply`], ignoring the reply's content.
pub(crate) fn invoke(
    service: CPtr,
    label: InvocationLabel,
    args: &[Word],
    caps: &[CPtr],
) -> Result<()> {
    invoke_with_reply(service, label, args, caps, |_, _| ())
}
