//! The IPC buffer: message registers past the fourth, extra caps (cptrs
//! out, badges in) and the slot a received cap goes to.
//!
//! The syscall stubs keep the first four message registers here too: they
//! load them into `x2`-`x5` before the syscall and store them back after,
//! as libsel4 does, so [`IpcBuffer::msg_regs`] is the whole message.

use core::{mem, slice};

use crate::{AbsoluteCPtr, Word, cap, sys};

/// One thread's IPC buffer (see [`with_ipc_buffer`](crate::with_ipc_buffer)).
#[repr(transparent)]
pub struct IpcBuffer(sys::IpcBuffer);

impl IpcBuffer {
    pub const fn from_inner(inner: sys::IpcBuffer) -> Self {
        IpcBuffer(inner)
    }

    pub const fn into_inner(self) -> sys::IpcBuffer {
        self.0
    }

    pub const fn inner(&self) -> &sys::IpcBuffer {
        &self.0
    }

    pub const fn inner_mut(&mut self) -> &mut sys::IpcBuffer {
        &mut self.0
    }

    /// The message registers (all 120).
    pub fn msg_regs(&self) -> &[Word] {
        &self.0.msg
    }

    pub fn msg_regs_mut(&mut self) -> &mut [Word] {
        &mut self.0.msg
    }

    /// The message registers as bytes (native, little-endian order).
    pub fn msg_bytes(&self) -> &[u8] {
        let msg = &self.0.msg;
        // SAFETY: the words are initialised plain integers; u8 has no
        // alignment or validity requirement, and the length is their size.
        unsafe { slice::from_raw_parts(msg.as_ptr().cast(), mem::size_of_val(msg)) }
    }

    pub fn msg_bytes_mut(&mut self) -> &mut [u8] {
        let msg = &mut self.0.msg;
        let len = mem::size_of_val(msg);
        // SAFETY: as in `msg_bytes`; every byte pattern is a valid word, and
        // the slice borrows the words mutably for its lifetime.
        unsafe { slice::from_raw_parts_mut(msg.as_mut_ptr().cast(), len) }
    }

    pub fn user_data(&self) -> Word {
        self.0.user_data
    }

    pub fn set_user_data(&mut self, data: Word) {
        self.0.user_data = data;
    }

    /// Cptrs of the caps to send, or badges of the caps received unwrapped.
    pub fn caps_or_badges(&self) -> &[Word] {
        &self.0.caps_or_badges
    }

    pub fn caps_or_badges_mut(&mut self) -> &mut [Word] {
        &mut self.0.caps_or_badges
    }

    /// Where the next received cap goes.
    pub fn recv_slot(&self) -> AbsoluteCPtr {
        let b = &self.0;
        cap::CNode::from_bits(b.receive_cnode)
            .absolute_cptr_from_bits_with_depth(b.receive_index, b.receive_depth as usize)
    }

    /// Sets where the next received cap goes.
    pub fn set_recv_slot(&mut self, slot: &AbsoluteCPtr) {
        self.0.receive_cnode = slot.root().bits();
        self.0.receive_index = slot.path().bits();
        self.0.receive_depth = slot.path().depth() as Word;
    }
}

impl Default for IpcBuffer {
    fn default() -> Self {
        IpcBuffer(sys::IpcBuffer {
            tag: sys::MessageInfo::default(),
            msg: [0; sys::message::MSG_MAX_LENGTH],
            user_data: 0,
            caps_or_badges: [0; sys::message::MSG_MAX_EXTRA_CAPS],
            receive_cnode: 0,
            receive_index: 0,
            receive_depth: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_alias_words() {
        let mut b = IpcBuffer::default();
        b.msg_regs_mut()[1] = 0x0807_0605_0403_0201;
        assert_eq!(&b.msg_bytes()[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        b.msg_bytes_mut()[0] = 0xff;
        assert_eq!(b.msg_regs()[0], 0xff);
        assert_eq!(b.msg_bytes().len(), 960);
    }

    #[test]
    fn recv_slot_round_trips() {
        let mut b = IpcBuffer::default();
        let slot = cap::CNode::from_bits(2).absolute_cptr_from_bits_with_depth(40, 13);
        b.set_recv_slot(&slot);
        assert_eq!(b.recv_slot(), slot);
        assert_eq!((b.inner().receive_cnode, b.inner().receive_depth), (2, 13));
        b.set_user_data(5);
        assert_eq!(b.user_data(), 5);
    }
}
