//! Message info, rights and the IPC buffer.

/// Most message registers a message can carry.
pub const MSG_MAX_LENGTH: usize = 120;
/// Most capabilities a message can carry besides the invoked one.
pub const MSG_MAX_EXTRA_CAPS: usize = 3;

/// The message tag: label, number of unwrapped caps, number of extra caps,
/// length in words.
///
/// ```text
///  63                        12 11     9 8    7 6        0
/// +----------------------------+--------+------+----------+
/// | label                      | capsUnw| extra| length   |
/// +----------------------------+--------+------+----------+
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageInfo(pub u64);

impl MessageInfo {
    pub const fn new(label: u64, caps_unwrapped: u64, extra_caps: u64, length: u64) -> Self {
        MessageInfo(
            (label & ((1 << 52) - 1)) << 12
                | (caps_unwrapped & 7) << 9
                | (extra_caps & 3) << 7
                | (length & 0x7f),
        )
    }
    pub const fn label(self) -> u64 {
        self.0 >> 12
    }
    pub const fn caps_unwrapped(self) -> u64 {
        (self.0 >> 9) & 7
    }
    pub const fn extra_caps(self) -> u64 {
        (self.0 >> 7) & 3
    }
    pub const fn length(self) -> u64 {
        self.0 & 0x7f
    }
}

impl core::fmt::Debug for MessageInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageInfo")
            .field("label", &self.label())
            .field("caps_unwrapped", &self.caps_unwrapped())
            .field("extra_caps", &self.extra_caps())
            .field("length", &self.length())
            .finish()
    }
}

/// Capability rights (as `seL4_CapRights_t`): bit 0 write, 1 read, 2 grant,
/// 3 grant-reply.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct CapRights(pub u64);

impl CapRights {
    pub const WRITE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const GRANT: u64 = 1 << 2;
    pub const GRANT_REPLY: u64 = 1 << 3;

    pub const fn new(grant_reply: bool, grant: bool, read: bool, write: bool) -> Self {
        CapRights(
            (grant_reply as u64) << 3 | (grant as u64) << 2 | (read as u64) << 1 | write as u64,
        )
    }
    pub const fn all() -> Self {
        CapRights(0xf)
    }
    pub const fn none() -> Self {
        CapRights(0)
    }
    pub const fn read_write() -> Self {
        CapRights(Self::READ | Self::WRITE)
    }
    pub const fn read_only() -> Self {
        CapRights(Self::READ)
    }
    pub const fn write_only() -> Self {
        CapRights(Self::WRITE)
    }
    pub const fn can_write(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    pub const fn can_read(self) -> bool {
        self.0 & Self::READ != 0
    }
    pub const fn can_grant(self) -> bool {
        self.0 & Self::GRANT != 0
    }
    pub const fn can_grant_reply(self) -> bool {
        self.0 & Self::GRANT_REPLY != 0
    }
    /// The rights in both: what a derived cap may keep.
    pub const fn intersect(self, other: CapRights) -> CapRights {
        CapRights(self.0 & other.0 & 0xf)
    }
}

/// The IPC buffer (as `seL4_IPCBuffer`): one per thread, in its address
/// space, named by `TCB SetIPCBuffer`; 1 KiB, aligned to 1 KiB.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IpcBuffer {
    pub tag: MessageInfo,
    pub msg: [u64; MSG_MAX_LENGTH],
    pub user_data: u64,
    /// Caps to send (cptrs) on the way out; badges of unwrapped caps on the
    /// way in.
    pub caps_or_badges: [u64; MSG_MAX_EXTRA_CAPS],
    /// Where a received cap goes: CNode, index, depth in the receiver's
    /// CSpace.
    pub receive_cnode: u64,
    pub receive_index: u64,
    pub receive_depth: u64,
}

/// Size and alignment of the IPC buffer, log2.
pub const IPC_BUFFER_SIZE_BITS: usize = 10;

const _: () = assert!(core::mem::size_of::<IpcBuffer>() == 1 << IPC_BUFFER_SIZE_BITS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_info_fields() {
        let m = MessageInfo::new(0xabc, 5, 3, 120);
        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (0xabc, 5, 3, 120));
        let m = MessageInfo::new(u64::MAX, 8, 4, 128);
        assert_eq!(m.label(), (1 << 52) - 1);
        assert_eq!((m.caps_unwrapped(), m.extra_caps(), m.length()), (0, 0, 0));
    }

    #[test]
    fn rights() {
        let r = CapRights::new(false, true, true, false);
        assert!(r.can_grant() && r.can_read() && !r.can_write() && !r.can_grant_reply());
        assert_eq!(r.intersect(CapRights::read_write()), CapRights::read_only());
    }
}
