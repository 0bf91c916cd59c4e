//! Capability rights ([`CapRights`]) and a builder for them.

use crate::sys;

/// Rights of a capability: read, write, grant, grant-reply. Copy and Mint
/// take the rights the new cap keeps (never more than the source has);
/// frame mappings take the access rights of the mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct CapRights(sys::CapRights);

impl CapRights {
    pub const fn new(grant_reply: bool, grant: bool, read: bool, write: bool) -> Self {
        CapRights(sys::CapRights::new(grant_reply, grant, read, write))
    }

    pub const fn from_inner(inner: sys::CapRights) -> Self {
        CapRights(inner)
    }

    pub const fn into_inner(self) -> sys::CapRights {
        self.0
    }

    pub const fn inner(&self) -> &sys::CapRights {
        &self.0
    }

    pub const fn none() -> Self {
        CapRights(sys::CapRights::none())
    }

    pub const fn all() -> Self {
        CapRights(sys::CapRights::all())
    }

    pub const fn read_write() -> Self {
        CapRights(sys::CapRights::read_write())
    }

    pub const fn read_only() -> Self {
        CapRights(sys::CapRights::read_only())
    }

    pub const fn write_only() -> Self {
        CapRights(sys::CapRights::write_only())
    }

    pub const fn can_read(self) -> bool {
        self.0.can_read()
    }

    pub const fn can_write(self) -> bool {
        self.0.can_write()
    }

    pub const fn can_grant(self) -> bool {
        self.0.can_grant()
    }

    pub const fn can_grant_reply(self) -> bool {
        self.0.can_grant_reply()
    }

    /// The word passed to the kernel.
    pub const fn into_word(self) -> crate::Word {
        self.0.0
    }
}

impl From<CapRightsBuilder> for CapRights {
    fn from(builder: CapRightsBuilder) -> Self {
        builder.build()
    }
}

/// Builds [`CapRights`] right by right, from none or from all.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct CapRightsBuilder {
    grant_reply: bool,
    grant: bool,
    read: bool,
    write: bool,
}

impl CapRightsBuilder {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn all() -> Self {
        CapRightsBuilder { grant_reply: true, grant: true, read: true, write: true }
    }

    pub fn build(self) -> CapRights {
        CapRights::new(self.grant_reply, self.grant, self.read, self.write)
    }

    #[must_use]
    pub fn grant_reply(mut self, can: bool) -> Self {
        self.grant_reply = can;
        self
    }

    #[must_use]
    pub fn grant(mut self, can: bool) -> Self {
        self.grant = can;
        self
    }

    #[must_use]
    pub fn read(mut self, can: bool) -> Self {
        self.read = can;
        self
    }

    #[must_use]
    pub fn write(mut self, can: bool) -> Self {
        self.write = can;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_rights_are_the_abis_bits() {
        assert_eq!(CapRights::none().into_word(), 0);
        assert_eq!(CapRights::write_only().into_word(), 1);
        assert_eq!(CapRights::read_only().into_word(), 2);
        assert_eq!(CapRights::read_write().into_word(), 3);
        assert_eq!(CapRights::new(true, false, false, false).into_word(), 8);
        assert_eq!(CapRights::all().into_word(), 0xf);
    }

    #[test]
    fn builder() {
        let r = CapRightsBuilder::none().read(true).grant(true).build();
        assert!(r.can_read() && r.can_grant() && !r.can_write() && !r.can_grant_reply());
        let r: CapRights = CapRightsBuilder::all().write(false).into();
        assert_eq!(r.into_word(), 0xe);
        assert_eq!(CapRightsBuilder::all().build(), CapRights::all());
    }
}
