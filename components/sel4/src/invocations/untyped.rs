//! `Untyped Retype`.

use super::invoke;
use crate::sys::InvocationLabel;
use crate::{AbsoluteCPtr, ObjectBlueprint, Result, Word, cap};

impl cap::Untyped {
    /// `seL4_Untyped_Retype`: makes `num_objects` objects of `blueprint`,
    /// placed in order after the previous children, with their caps in
    /// slots `dst_offset..` of the CNode `dst` names (usually
    /// `cnode.absolute_cptr_for_self()`).
    pub fn untyped_retype(
        self,
        blueprint: &ObjectBlueprint,
        dst: &AbsoluteCPtr,
        dst_offset: usize,
        num_objects: usize,
    ) -> Result<()> {
        let args = [
            blueprint.ty() as Word,
            blueprint.api_size_bits().unwrap_or(0) as Word,
            dst.path().bits(),
            dst.path().depth() as Word,
            dst_offset as Word,
            num_objects as Word,
        ];
        invoke(self.cptr(), InvocationLabel::UntypedRetype, &args, &[dst.root().cptr()])
    }
}
