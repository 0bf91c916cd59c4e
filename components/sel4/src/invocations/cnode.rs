//! The CNode invocations, as methods of the slot they act on (the
//! destination for copy, mint, move and mutate), like rust-sel4.

use super::invoke;
use crate::sys::InvocationLabel;
use crate::{AbsoluteCPtr, CapRights, Result, Word};

impl AbsoluteCPtr {
    /// Invokes the root CNode on this slot: MR0 index, MR1 depth, then
    /// `more` arguments; `src` adds the source path and its root as cap 0.
    fn cnode_invoke(
        &self,
        label: InvocationLabel,
        src: Option<&AbsoluteCPtr>,
        more: &[Word],
    ) -> Result<()> {
        let mut args = [0; 6];
        args[0] = self.path().bits();
        args[1] = self.path().depth() as Word;
        let mut n = 2;
        if let Some(src) = src {
            args[2] = src.path().bits();
            args[3] = src.path().depth() as Word;
            n = 4;
        }
        args[n..n + more.len()].copy_from_slice(more);
        let caps = src.map(|s| s.root().cptr());
        invoke(self.root().cptr(), label, &args[..n + more.len()], caps.as_slice())
    }

    /// `seL4_CNode_Revoke`: deletes every cap derived from this one.
    pub fn revoke(self) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeRevoke, None, &[])
    }

    /// `seL4_CNode_Delete`: empties this slot.
    pub fn delete(self) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeDelete, None, &[])
    }

    /// `seL4_CNode_SaveCaller`: moves the thread's reply cap (from its last
    /// receive of a `Call`) into this slot, to answer later with `send`.
    pub fn save_caller(self) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeSaveCaller, None, &[])
    }

    /// `seL4_CNode_CancelBadgedSends`: aborts the sends queued on the
    /// endpoint with this (badged) cap's badge.
    pub fn cancel_badged_sends(self) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeCancelBadgedSends, None, &[])
    }

    /// `seL4_CNode_Copy`: copies `src` here with at most `rights`.
    pub fn copy(self, src: &AbsoluteCPtr, rights: CapRights) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeCopy, Some(src), &[rights.into_word()])
    }

    /// `seL4_CNode_Mint`: copies `src` here with at most `rights` and `badge`.
    pub fn mint(self, src: &AbsoluteCPtr, rights: CapRights, badge: Word) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeMint, Some(src), &[rights.into_word(), badge])
    }

    /// `seL4_CNode_Move`: moves `src` here.
    pub fn move_(self, src: &AbsoluteCPtr) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeMove, Some(src), &[])
    }

    /// `seL4_CNode_Mutate`: moves `src` here, setting `badge`.
    pub fn mutate(self, src: &AbsoluteCPtr, badge: Word) -> Result<()> {
        self.cnode_invoke(InvocationLabel::CNodeMutate, Some(src), &[badge])
    }
}
