//! Reading boot modules through the `rom` cap (L4Re's `rom/` namespace):
//! the root task maps a module read-only into the program and answers
//! where (program-env's rom protocol).

use program_env::rom;
use sel4::{MessageInfo, cap};

/// Why a module could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RomError {
    /// The program has no `rom` cap.
    NoRom,
    /// No module of that name.
    NotFound,
    /// The program's rom slots or address space are used up.
    NoRoom,
    /// The name is too long or the answer was malformed.
    BadRequest,
}

/// Maps `rom/<name>` (the `rom/` is optional) and returns its bytes.
pub fn open(name: &str) -> Result<&'static [u8], RomError> {
    let ep: cap::Endpoint = crate::env::get_cap_raw("rom").ok_or(RomError::NoRom)?.cast();
    let name = name.strip_prefix("rom/").unwrap_or(name);
    if name.len() > rom::MAX_NAME {
        return Err(RomError::BadRequest);
    }
    let words = sel4::with_ipc_buffer_mut(|b| {
        let mr = b.msg_regs_mut();
        mr[0] = name.len() as u64;
        1 + program_env::pack_bytes(name.as_bytes(), &mut mr[1..])
    });
    let reply = ep.call(MessageInfo::new(rom::OPEN, 0, 0, words));
    match reply.label() {
        0 => {}
        rom::NOT_FOUND => return Err(RomError::NotFound),
        rom::NO_ROOM => return Err(RomError::NoRoom),
        _ => return Err(RomError::BadRequest),
    }
    let (vaddr, size) = sel4::with_ipc_buffer(|b| (b.msg_regs()[0], b.msg_regs()[1]));
    if vaddr < program_env::ROM_VADDR_BASE || vaddr.checked_add(size).is_none() {
        return Err(RomError::BadRequest);
    }
    // SAFETY: the root task has mapped the module read-only at `vaddr` for
    // `size` bytes, for the rest of the program's life, and nothing maps
    // anything else there (program-env's address-space layout).
    Ok(unsafe { core::slice::from_raw_parts(vaddr as *const u8, size as usize) })
}
