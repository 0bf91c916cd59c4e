//! The message tag, [`MessageInfo`], and a builder for it.
//!
//! Fields that do not fit their bits (more than 3 extra caps, more than
//! [`NUM_MESSAGE_REGISTERS`](crate::NUM_MESSAGE_REGISTERS) words) are a
//! bug in the caller, so they panic rather than being cut silently.

use crate::{Word, sys};

/// Label, caps unwrapped, extra caps and length of a message.
#[derive(Copy, Clone, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct MessageInfo(sys::MessageInfo);

impl MessageInfo {
    /// # Panics
    ///
    /// If a field does not fit: a label of 52 bits or more, more than 7
    /// caps unwrapped, more than 3 extra caps, more than 120 words.
    pub fn new(label: Word, caps_unwrapped: usize, extra_caps: usize, length: usize) -> Self {
        assert!(label >> Self::label_width() == 0, "message label {label:#x} too wide");
        assert!(caps_unwrapped < 8, "caps unwrapped {caps_unwrapped} > 7");
        assert!(extra_caps <= sys::message::MSG_MAX_EXTRA_CAPS, "extra caps {extra_caps} > 3");
        assert!(length <= sys::message::MSG_MAX_LENGTH, "message length {length} > 120");
        MessageInfo(sys::MessageInfo::new(
            label,
            caps_unwrapped as Word,
            extra_caps as Word,
            length as Word,
        ))
    }

    pub const fn from_inner(inner: sys::MessageInfo) -> Self {
        MessageInfo(inner)
    }

    pub const fn into_inner(self) -> sys::MessageInfo {
        self.0
    }

    pub const fn inner(&self) -> &sys::MessageInfo {
        &self.0
    }

    /// Bits of the label.
    pub const fn label_width() -> usize {
        52
    }

    pub const fn label(&self) -> Word {
        self.0.label()
    }

    pub const fn caps_unwrapped(&self) -> usize {
        self.0.caps_unwrapped() as usize
    }

    pub const fn extra_caps(&self) -> usize {
        self.0.extra_caps() as usize
    }

    pub const fn length(&self) -> usize {
        self.0.length() as usize
    }
}

impl core::fmt::Debug for MessageInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<MessageInfoBuilder> for MessageInfo {
    fn from(builder: MessageInfoBuilder) -> Self {
        builder.build()
    }
}

/// Builds a [`MessageInfo`] field by field; unset fields are 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct MessageInfoBuilder {
    label: Word,
    caps_unwrapped: usize,
    extra_caps: usize,
    length: usize,
}

impl MessageInfoBuilder {
    /// # Panics
    ///
    /// As [`MessageInfo::new`].
    pub fn build(self) -> MessageInfo {
        MessageInfo::new(self.label, self.caps_unwrapped, self.extra_caps, self.length)
    }

    #[must_use]
    pub fn label(mut self, label: Word) -> Self {
        self.label = label;
        self
    }

    #[must_use]
    pub fn caps_unwrapped(mut self, caps_unwrapped: usize) -> Self {
        self.caps_unwrapped = caps_unwrapped;
        self
    }

    #[must_use]
    pub fn extra_caps(mut self, extra_caps: usize) -> Self {
        self.extra_caps = extra_caps;
        self
    }

    #[must_use]
    pub fn length(mut self, length: usize) -> Self {
        self.length = length;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_each_field() {
        let m = MessageInfoBuilder::default().label(0x42).extra_caps(2).length(7).build();
        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (0x42, 0, 2, 7));
        assert_eq!(m, MessageInfo::new(0x42, 0, 2, 7));
        assert_eq!(m.into_inner().0, 0x42 << 12 | 2 << 7 | 7);
        let m: MessageInfo = MessageInfoBuilder::default().caps_unwrapped(5).into();
        assert_eq!(m.caps_unwrapped(), 5);
        assert_eq!(MessageInfo::default().length(), 0);
    }

    #[test]
    fn largest_fields_fit() {
        let m = MessageInfo::new((1 << 52) - 1, 7, 3, 120);
        assert_eq!(
            (m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()),
            ((1 << 52) - 1, 7, 3, 120)
        );
    }

    #[test]
    #[should_panic(expected = "message length 121")]
    fn too_long_panics() {
        MessageInfo::new(0, 0, 0, 121);
    }

    #[test]
    #[should_panic(expected = "extra caps 4")]
    fn too_many_caps_panics() {
        MessageInfoBuilder::default().extra_caps(4).build();
    }

    #[test]
    #[should_panic(expected = "too wide")]
    fn too_wide_label_panics() {
        MessageInfo::new(1 << 52, 0, 0, 0);
    }
}
