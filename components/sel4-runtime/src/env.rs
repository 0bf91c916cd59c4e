//! A started program's environment: its command line and named caps, as
//! the root task wrote them into its environment page (see the
//! `program-env` crate), L4Re's `L4Re::Env`.
//!
//! ```ignore
//! let chan: sel4::cap::Endpoint = sel4_runtime::get_cap!("chan").expect("no cap `chan`");
//! for arg in sel4_runtime::env::args() { ... }
//! ```
//!
//! [`get_cap!`](crate::get_cap) also records each name it is used with in the
//! ELF section `.ned_caps` (names, each ended by a NUL byte; not loaded), so
//! `build ned check` can warn about a cap a script gives that the program
//! never looks up.

use core::sync::atomic::{AtomicUsize, Ordering};

use program_env::{CapEntry, EnvPage};
use sel4::CPtr;

/// Address of the environment page, 0 when the program has none (the root
/// task, or a thread started by hand).
static ENV_ADDR: AtomicUsize = AtomicUsize::new(0);

/// Takes `arg` (the program's `x0`) as the environment page if it is one.
pub(crate) fn init(arg: usize) {
    if arg as u64 == program_env::ENV_VADDR {
        ENV_ADDR.store(arg, Ordering::Relaxed);
        if get("log").is_some() {
            crate::print::use_log_channel();
        }
    }
}

/// The environment page, if the program was started with one.
pub fn page() -> Option<EnvPage<'static>> {
    let addr = ENV_ADDR.load(Ordering::Relaxed);
    if addr == 0 {
        return None;
    }
    let len = (program_env::ENV_MAX_PAGES * program_env::PAGE) as usize;
    // SAFETY: the root task maps ENV_MAX_PAGES read-only pages at
    // ENV_VADDR for the program's lifetime (program-env's layout) and
    // never writes them after the start; `init` took the address only when
    // it is that one. The parser checks every offset within them.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, len) };
    EnvPage::parse(bytes).ok()
}

/// The named cap `name`, with its slot, kind and rights.
pub fn get(name: &str) -> Option<CapEntry<'static>> {
    page()?.cap(name)
}

/// The slot of the named cap `name`; prefer [`get_cap!`](crate::get_cap),
/// which also records the name for `build ned check`.
pub fn get_cap_raw(name: &str) -> Option<CPtr> {
    get(name).map(|c| CPtr::from_bits(c.slot))
}

/// The program's name (its rom/ module).
pub fn name() -> &'static str {
    page().map_or("", |p| p.name())
}

/// The command line as the script wrote it.
pub fn cmdline() -> &'static str {
    page().map_or("", |p| p.cmdline())
}

/// The arguments after the program's name: the command line split by
/// [`program_env::split_args`], so whitespace separates arguments and a
/// quoted argument keeps its spaces (`-c "console=ttyAMA0 rdinit=/init"`
/// is `-c` and `console=ttyAMA0 rdinit=/init`).
pub fn args() -> impl Iterator<Item = &'static str> {
    program_env::split_args(cmdline()).skip(1)
}

#[doc(hidden)]
pub const fn nul_terminated<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// Declares that the program looks its caps up by walking the environment
/// ([`page`]) rather than by fixed names, so `build ned check` does not
/// warn about the names a script gives it (records `*` in `.ned_caps`).
#[macro_export]
macro_rules! uses_any_cap_name {
    () => {
        const _: () = {
            #[unsafe(link_section = ".ned_caps")]
            #[used]
            static ANY: [u8; 2] = *b"*\0";
        };
    };
}

/// Looks a named cap up (`L4Re::Env::get_cap`): `Option<Cap<T>>`, with `T`
/// inferred. The name must be a string literal; it is recorded in the
/// program's `.ned_caps` section for `build ned check`.
#[macro_export]
macro_rules! get_cap {
    ($name:literal) => {{
        #[unsafe(link_section = ".ned_caps")]
        #[used]
        static NAME: [u8; $name.len() + 1] = $crate::env::nul_terminated($name);
        $crate::env::get_cap_raw($name).map(|c| c.cast())
    }};
}
