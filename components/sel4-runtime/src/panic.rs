//! The panic handler, and [`abort`], the way every program ends.

use core::sync::atomic::{AtomicBool, Ordering};

static IS_ROOT_TASK: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_root_task() {
    IS_ROOT_TASK.store(true, Ordering::Relaxed);
}

/// Stops the program. The root task halts the system (`debug_halt`);
/// another program raises a UserException fault (`udf #0`), which its
/// fault handler receives, and raises it again if resumed.
pub fn abort() -> ! {
    if IS_ROOT_TASK.load(Ordering::Relaxed) {
        sel4::debug_halt()
    }
    loop {
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `udf` only raises an exception; it touches no memory.
        unsafe {
            core::arch::asm!("udf #0", options(nomem, nostack))
        };
        #[cfg(not(target_arch = "aarch64"))]
        core::hint::spin_loop();
    }
}

/// Ends a program the root task started with exit code `code` (the
/// parent protocol of program-env); anywhere else, [`abort`]s.
pub fn exit(code: i64) -> ! {
    if !IS_ROOT_TASK.load(Ordering::Relaxed) {
        let parent = crate::env::page().map(|_| program_env::slot::PARENT);
        if let Some(slot) = parent {
            let ep: sel4::cap::Endpoint = sel4::CPtr::from_bits(slot).cast();
            sel4::with_ipc_buffer_mut(|b| b.msg_regs_mut()[0] = code as u64);
            ep.call(sel4::MessageInfo::new(program_env::parent::EXIT, 0, 0, 1));
        }
    }
    abort()
}

/// Prints `panic: <message>` and its location, then [`abort`]s. A panic
/// while printing goes straight to `abort`.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    static PANICKING: AtomicBool = AtomicBool::new(false);
    if !PANICKING.swap(true, Ordering::Relaxed) {
        crate::println!("panic: {}", info.message());
        if let Some(location) = info.location() {
            crate::println!("  at {location}");
        }
    }
    abort()
}
