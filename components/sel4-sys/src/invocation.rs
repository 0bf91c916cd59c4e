//! Invocation labels: the label of the message sent to an object's cap
//! selects the method. Arguments travel in message registers, caps as extra
//! caps, in the order documented on each label (seL4's order).

/// Invocation labels.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvocationLabel {
    InvalidInvocation = 0,
    /// MR0 type, MR1 size bits, MR2 node index, MR3 node depth, MR4 node
    /// offset, MR5 number of objects; cap 0 root CNode.
    UntypedRetype = 1,
    /// MR0 bit 0: suspend the target first; MR1 count. Reply: the registers.
    TcbReadRegisters = 2,
    /// MR0 bit 0: resume the target; MR1 count; MR2.. the registers.
    TcbWriteRegisters = 3,
    TcbCopyRegisters = 4,
    /// MR0 fault endpoint cptr, MR1 CSpace root data (guard), MR2 VSpace root
    /// data, MR3 IPC buffer address; caps: CSpace root, VSpace root, buffer frame.
    TcbConfigure = 5,
    /// MR0 priority; cap 0 the authority TCB (its MCP bounds the priority).
    TcbSetPriority = 6,
    /// MR0 maximum controlled priority; cap 0 the authority TCB.
    TcbSetMcPriority = 7,
    TcbSetSchedParams = 8,
    /// MR0 buffer address; cap 0 the buffer frame.
    TcbSetIpcBuffer = 9,
    /// MR0 fault endpoint cptr, MR1 CSpace root data, MR2 VSpace root data;
    /// caps: CSpace root, VSpace root.
    TcbSetSpace = 10,
    TcbSuspend = 11,
    TcbResume = 12,
    /// Cap 0 the notification.
    TcbBindNotification = 13,
    TcbUnbindNotification = 14,
    /// MR0 the thread-local storage base (TPIDR_EL0).
    TcbSetTlsBase = 15,
    /// MR0 index, MR1 depth (for this and the next two).
    CNodeRevoke = 16,
    CNodeDelete = 17,
    CNodeCancelBadgedSends = 18,
    /// MR0 dest index, MR1 dest depth, MR2 src index, MR3 src depth, MR4
    /// rights; cap 0 the source root CNode.
    CNodeCopy = 19,
    /// As Copy, then MR5 badge.
    CNodeMint = 20,
    /// MR0 dest index, MR1 dest depth, MR2 src index, MR3 src depth; cap 0
    /// the source root CNode.
    CNodeMove = 21,
    /// As Move, then MR4 cap data: a CNode's new guard (as seL4, endpoint
    /// and notification caps cannot be mutated: IllegalOperation).
    CNodeMutate = 22,
    CNodeRotate = 23,
    CNodeSaveCaller = 24,
    /// MR0 IRQ, MR1 dest index, MR2 dest depth; cap 0 dest root CNode.
    IrqIssueIrqHandler = 25,
    IrqAckIrq = 26,
    /// Cap 0 the notification.
    IrqSetIrqHandler = 27,
    IrqClearIrqHandler = 28,
    DomainSetSet = 29,
    /// MR0 start, MR1 end (virtual addresses) for the four VSpace ops.
    ArmVSpaceCleanData = 30,
    ArmVSpaceInvalidateData = 31,
    ArmVSpaceCleanInvalidateData = 32,
    ArmVSpaceUnifyInstruction = 33,
    /// MR0 vaddr, MR1 attributes; cap 0 the VSpace.
    ArmPageTableMap = 34,
    ArmPageTableUnmap = 35,
    /// MR0 vaddr, MR1 rights, MR2 attributes; cap 0 the VSpace.
    ArmPageMap = 36,
    ArmPageUnmap = 37,
    /// MR0 start offset, MR1 end offset in the frame, for the four cache ops.
    ArmPageCleanData = 38,
    ArmPageInvalidateData = 39,
    ArmPageCleanInvalidateData = 40,
    ArmPageUnifyInstruction = 41,
    /// Reply: MR0 the frame's physical address.
    ArmPageGetAddress = 42,
    /// MR0 index, MR1 depth; caps: the untyped (4 KiB), the dest root CNode.
    ArmAsidControlMakePool = 43,
    /// Cap 0 the VSpace.
    ArmAsidPoolAssign = 44,
    /// Cap 0 the TCB.
    ArmVcpuSetTcb = 45,
    /// MR0 virq | priority << 16 | group << 24 | index << 32.
    ArmVcpuInjectIrq = 46,
    /// MR0 register number. Reply: MR0 value.
    ArmVcpuReadReg = 47,
    /// MR0 register number, MR1 value.
    ArmVcpuWriteReg = 48,
    /// MR0 the virtual PPI.
    ArmVcpuAckVppi = 49,
    /// MR0 IRQ, MR1 trigger (0 level, 1 edge), MR2 dest index, MR3 dest
    /// depth; cap 0 dest root CNode. (`IRQControl GetTrigger`.)
    ArmIrqIssueIrqHandlerTrigger = 50,
}

/// Number of labels.
pub const NUM_INVOCATION_LABELS: u64 = 51;

impl InvocationLabel {
    pub fn from_word(w: u64) -> InvocationLabel {
        if w < NUM_INVOCATION_LABELS {
            // SAFETY: the enum is repr(u64) with every value 0..NUM
            // assigned in order (checked by the test below).
            unsafe { core::mem::transmute::<u64, InvocationLabel>(w) }
        } else {
            InvocationLabel::InvalidInvocation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dense() {
        assert_eq!(InvocationLabel::ArmIrqIssueIrqHandlerTrigger as u64 + 1, NUM_INVOCATION_LABELS);
        assert_eq!(InvocationLabel::from_word(20), InvocationLabel::CNodeMint);
        assert_eq!(InvocationLabel::from_word(999), InvocationLabel::InvalidInvocation);
    }
}
