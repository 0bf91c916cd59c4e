//! Frames, page tables, VSpaces and ASIDs.

use super::{invoke, invoke_with_reply};
use crate::cap_type::CapTypeForFrameObject;
use crate::sys::InvocationLabel;
use crate::{AbsoluteCPtr, Cap, CapRights, Result, VmAttributes, Word, cap};

impl<T: CapTypeForFrameObject> Cap<T> {
    /// `seL4_ARM_Page_Map`: maps the frame at `vaddr` in `vspace`.
    pub fn frame_map(
        self,
        vspace: cap::VSpace,
        vaddr: usize,
        rights: CapRights,
        attrs: VmAttributes,
    ) -> Result<()> {
        let args = [vaddr as Word, rights.into_word(), attrs.into_inner()];
        invoke(self.cptr(), InvocationLabel::ArmPageMap, &args, &[vspace.cptr()])
    }

    /// `seL4_ARM_Page_Unmap`.
    pub fn frame_unmap(self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmPageUnmap, &[], &[])
    }

    /// `seL4_ARM_Page_GetAddress`: the frame's physical address.
    pub fn frame_get_address(self) -> Result<usize> {
        let label = InvocationLabel::ArmPageGetAddress;
        invoke_with_reply(self.cptr(), label, &[], &[], |buf, _| buf.msg_regs()[0] as usize)
    }

    /// `seL4_ARM_Page_Clean_Data` over bytes `start..end` of the frame.
    pub fn frame_clean_data(self, start: usize, end: usize) -> Result<()> {
        self.frame_cache_op(InvocationLabel::ArmPageCleanData, start, end)
    }

    /// `seL4_ARM_Page_Invalidate_Data` over bytes `start..end` of the frame.
    pub fn frame_invalidate_data(self, start: usize, end: usize) -> Result<()> {
        self.frame_cache_op(InvocationLabel::ArmPageInvalidateData, start, end)
    }

    /// `seL4_ARM_Page_CleanInvalidate_Data` over bytes `start..end`.
    pub fn frame_clean_invalidate_data(self, start: usize, end: usize) -> Result<()> {
        self.frame_cache_op(InvocationLabel::ArmPageCleanInvalidateData, start, end)
    }

    /// `seL4_ARM_Page_Unify_Instruction` over bytes `start..end`.
    pub fn frame_unify_instruction(self, start: usize, end: usize) -> Result<()> {
        self.frame_cache_op(InvocationLabel::ArmPageUnifyInstruction, start, end)
    }

    fn frame_cache_op(self, label: InvocationLabel, start: usize, end: usize) -> Result<()> {
        invoke(self.cptr(), label, &[start as Word, end as Word], &[])
    }
}

impl cap::PageTable {
    /// `seL4_ARM_PageTable_Map`: installs the table covering `vaddr`.
    pub fn page_table_map(
        self,
        vspace: cap::VSpace,
        vaddr: usize,
        attr: VmAttributes,
    ) -> Result<()> {
        let args = [vaddr as Word, attr.into_inner()];
        invoke(self.cptr(), InvocationLabel::ArmPageTableMap, &args, &[vspace.cptr()])
    }

    /// rust-sel4's name of [`page_table_map`](Self::page_table_map).
    pub fn pt_map(self, vspace: cap::VSpace, vaddr: usize, attr: VmAttributes) -> Result<()> {
        self.page_table_map(vspace, vaddr, attr)
    }

    /// `seL4_ARM_PageTable_Unmap`.
    pub fn page_table_unmap(self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmPageTableUnmap, &[], &[])
    }
}

impl cap::VSpace {
    /// `seL4_ARM_VSpace_Clean_Data` over virtual addresses `start..end`.
    pub fn vspace_clean_data(self, start: usize, end: usize) -> Result<()> {
        self.vspace_cache_op(InvocationLabel::ArmVSpaceCleanData, start, end)
    }

    /// `seL4_ARM_VSpace_Invalidate_Data` over `start..end`.
    pub fn vspace_invalidate_data(self, start: usize, end: usize) -> Result<()> {
        self.vspace_cache_op(InvocationLabel::ArmVSpaceInvalidateData, start, end)
    }

    /// `seL4_ARM_VSpace_CleanInvalidate_Data` over `start..end`.
    pub fn vspace_clean_invalidate_data(self, start: usize, end: usize) -> Result<()> {
        self.vspace_cache_op(InvocationLabel::ArmVSpaceCleanInvalidateData, start, end)
    }

    /// `seL4_ARM_VSpace_Unify_Instruction` over `start..end`.
    pub fn vspace_unify_instruction(self, start: usize, end: usize) -> Result<()> {
        self.vspace_cache_op(InvocationLabel::ArmVSpaceUnifyInstruction, start, end)
    }

    fn vspace_cache_op(self, label: InvocationLabel, start: usize, end: usize) -> Result<()> {
        invoke(self.cptr(), label, &[start as Word, end as Word], &[])
    }
}

impl cap::AsidControl {
    /// `seL4_ARM_ASIDControl_MakePool`: turns `untyped` (of
    /// [`ObjectBlueprint::asid_pool`](crate::ObjectBlueprint::asid_pool)
    /// size) into an ASID pool whose cap goes to `dst`.
    pub fn asid_control_make_pool(self, untyped: cap::Untyped, dst: &AbsoluteCPtr) -> Result<()> {
        let args = [dst.path().bits(), dst.path().depth() as Word];
        let caps = [untyped.cptr(), dst.root().cptr()];
        invoke(self.cptr(), InvocationLabel::ArmAsidControlMakePool, &args, &caps)
    }
}

impl cap::AsidPool {
    /// `seL4_ARM_ASIDPool_Assign`: gives `vspace` an ASID from this pool.
    pub fn asid_pool_assign(self, vspace: cap::VSpace) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::ArmAsidPoolAssign, &[], &[vspace.cptr()])
    }
}
