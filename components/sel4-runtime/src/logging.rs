//! A `log` backend printing to the kernel's debug console, one line per
//! record: `<program>: <LEVEL> <message>`.

use log::{LevelFilter, Log, Metadata, Record};

/// The level the runtime enables; change it with `log::set_max_level`.
pub const DEFAULT_LOG_LEVEL: LevelFilter = LevelFilter::Info;

/// The logger the entry macros install, named after the program.
#[derive(Debug)]
pub struct Logger {
    name: &'static str,
}

impl Logger {
    pub const fn new(name: &'static str) -> Self {
        Logger { name }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Makes this the `log` backend at [`DEFAULT_LOG_LEVEL`], unless one is
    /// installed already.
    pub fn install(&'static self) {
        if log::set_logger(self).is_ok() {
            log::set_max_level(DEFAULT_LOG_LEVEL);
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::println!("{}: {} {}", self.name, record.level(), record.args());
        }
    }

    fn flush(&self) {}
}
