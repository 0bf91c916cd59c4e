//! The vmm's command line, in the manner of L4Re's uvmm:
//!
//! ```text
//! -k, --kernel FILE      the kernel (arm64 Image, raw, gzip or EFI zboot)
//! -d, --dtb FILE         the guest's device tree blob
//! -r, --ramdisk FILE     the initrd
//! -c, --cmdline STRING   the kernel command line (/chosen bootargs)
//! -b, --rambase ADDR     guest physical base of RAM (0x... or decimal)
//! -D, --debug LEVEL      quiet, warn, info, debug, trace, or 0-4
//! -f, --fault-mode MODE  on a guest access to nothing: ignore, halt, inject
//! -i                     guest RAM identity-mapped (guest physical = host physical)
//! -v                     one level more verbose (repeatable)
//! -q                     quiet
//! ```
//!
//! A value follows its option as the next argument, or joined: `-kFILE`,
//! `--kernel=FILE`. Flags combine: `-vvi`.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// The options, for messages and `--help`-like listings.
pub const USAGE: &str = "\
-k, --kernel FILE      the kernel (arm64 Image, raw, gzip or EFI zboot)
-d, --dtb FILE         the guest's device tree blob
-r, --ramdisk FILE     the initrd
-c, --cmdline STRING   the kernel command line (/chosen bootargs)
-b, --rambase ADDR     guest physical base of RAM (0x... or decimal)
-D, --debug LEVEL      quiet, warn, info, debug, trace, or 0-4
-f, --fault-mode MODE  on a guest access to nothing: ignore, halt, inject
-i                     guest RAM identity-mapped (guest physical = host physical)
-v                     one level more verbose (repeatable)
-q                     quiet";

const KNOWN: &str = "-k/--kernel, -d/--dtb, -r/--ramdisk, -c/--cmdline, -b/--rambase, \
                     -D/--debug, -f/--fault-mode, -i, -v, -q";

/// How much the vmm logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

impl Level {
    fn from_number(n: u8) -> Option<Level> {
        Some(match n {
            0 => Level::Quiet,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            4 => Level::Trace,
            _ => return None,
        })
    }

    fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "quiet" | "off" | "none" => Level::Quiet,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" | "all" => Level::Trace,
            _ => return s.parse().ok().and_then(Level::from_number),
        })
    }

    /// One level more verbose (up to trace).
    pub fn more(self) -> Level {
        Level::from_number(self as u8 + 1).unwrap_or(Level::Trace)
    }
}

/// What the vmm does when the guest touches an address nothing backs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// Skip the instruction (a load reads 0).
    Ignore,
    /// Stop the guest.
    Halt,
    /// Inject a synchronous external abort into the guest.
    Inject,
}

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub kernel: Option<String>,
    pub dtb: Option<String>,
    pub ramdisk: Option<String>,
    pub cmdline: Option<String>,
    pub rambase: Option<u64>,
    /// The log level: `-D`, raised by each `-v`, `Quiet` with `-q`.
    pub debug: Level,
    /// How many `-v` were given.
    pub verbose: u8,
    /// `-q` was given.
    pub quiet: bool,
    pub fault_mode: FaultMode,
    /// `-i`: guest RAM at the host physical addresses backing it.
    pub identity: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kernel: None,
            dtb: None,
            ramdisk: None,
            cmdline: None,
            rambase: None,
            debug: Level::Info,
            verbose: 0,
            quiet: false,
            fault_mode: FaultMode::Inject,
            identity: false,
        }
    }
}

/// A command line error, naming the option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// No such option.
    Unknown(String),
    /// The option needs a value and none followed.
    MissingValue(String),
    /// The option's value is not valid.
    BadValue { option: String, value: String, expected: &'static str },
    /// An argument that is no option.
    Stray(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Unknown(o) => write!(f, "unknown option `{o}`; known: {KNOWN}"),
            ArgError::MissingValue(o) => write!(f, "option `{o}` needs a value"),
            ArgError::BadValue { option, value, expected } => {
                write!(f, "option `{option}`: bad value `{value}` (expected {expected})")
            }
            ArgError::Stray(a) => {
                write!(f, "unexpected argument `{a}` (not an option); known: {KNOWN}")
            }
        }
    }
}

/// An option's identity, from its short or long name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Kernel,
    Dtb,
    Ramdisk,
    Cmdline,
    Rambase,
    Debug,
    FaultMode,
    Identity,
    Verbose,
    Quiet,
}

impl Opt {
    fn short(c: char) -> Option<Opt> {
        Some(match c {
            'k' => Opt::Kernel,
            'd' => Opt::Dtb,
            'r' => Opt::Ramdisk,
            'c' => Opt::Cmdline,
            'b' => Opt::Rambase,
            'D' => Opt::Debug,
            'f' => Opt::FaultMode,
            'i' => Opt::Identity,
            'v' => Opt::Verbose,
            'q' => Opt::Quiet,
            _ => return None,
        })
    }

    fn long(s: &str) -> Option<Opt> {
        Some(match s {
            "kernel" => Opt::Kernel,
            "dtb" => Opt::Dtb,
            "ramdisk" => Opt::Ramdisk,
            "cmdline" => Opt::Cmdline,
            "rambase" => Opt::Rambase,
            "debug" => Opt::Debug,
            "fault-mode" => Opt::FaultMode,
            _ => return None,
        })
    }

    fn takes_value(self) -> bool {
        !matches!(self, Opt::Identity | Opt::Verbose | Opt::Quiet)
    }
}

/// Parses a number: `0x` hexadecimal or decimal, `_` allowed as separator.
pub fn parse_number(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(|&c| c != '_').collect();
    match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => digits.parse().ok(),
    }
}

/// Parses the arguments (without the program name).
pub fn parse<'a>(args: impl Iterator<Item = &'a str>) -> Result<Config, ArgError> {
    let mut cfg = Config::default();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        if let Some(long) = arg.strip_prefix("--") {
            let (name, joined) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let opt = Opt::long(name).ok_or_else(|| ArgError::Unknown(format!("--{name}")))?;
            let value = match joined {
                Some(v) => v,
                None => args.next().ok_or_else(|| ArgError::MissingValue(arg.to_string()))?,
            };
            apply(&mut cfg, opt, &format!("--{name}"), Some(value))?;
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let name = format!("-{c}");
                let opt = Opt::short(c).ok_or_else(|| ArgError::Unknown(name.clone()))?;
                if !opt.takes_value() {
                    apply(&mut cfg, opt, &name, None)?;
                    continue;
                }
                let rest = &shorts[i + c.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                let value = if rest.is_empty() {
                    args.next().ok_or_else(|| ArgError::MissingValue(name.clone()))?
                } else {
                    rest
                };
                apply(&mut cfg, opt, &name, Some(value))?;
                break;
            }
        } else {
            return Err(ArgError::Stray(arg.to_string()));
        }
    }
    Ok(cfg)
}

fn apply(cfg: &mut Config, opt: Opt, name: &str, value: Option<&str>) -> Result<(), ArgError> {
    let bad = |expected| ArgError::BadValue {
        option: name.to_string(),
        value: value.unwrap_or_default().to_string(),
        expected,
    };
    let v = value.unwrap_or_default();
    match opt {
        Opt::Kernel => cfg.kernel = Some(v.to_string()),
        Opt::Dtb => cfg.dtb = Some(v.to_string()),
        Opt::Ramdisk => cfg.ramdisk = Some(v.to_string()),
        Opt::Cmdline => cfg.cmdline = Some(v.to_string()),
        Opt::Rambase => {
            cfg.rambase = Some(parse_number(v).ok_or_else(|| bad("an address, 0x... or decimal"))?)
        }
        Opt::Debug => {
            cfg.debug = Level::parse(v)
                .ok_or_else(|| bad("quiet, warn, info, debug, trace or a number 0-4"))?
        }
        Opt::FaultMode => {
            cfg.fault_mode = match v {
                "ignore" => FaultMode::Ignore,
                "halt" => FaultMode::Halt,
                "inject" => FaultMode::Inject,
                _ => return Err(bad("ignore, halt or inject")),
            }
        }
        Opt::Identity => cfg.identity = true,
        Opt::Verbose => {
            cfg.verbose = cfg.verbose.saturating_add(1);
            cfg.debug = cfg.debug.more();
        }
        Opt::Quiet => {
            cfg.quiet = true;
            cfg.debug = Level::Quiet;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Config, ArgError> {
        parse(s.split_whitespace())
    }

    #[test]
    fn defaults() {
        let c = p("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!((c.debug, c.fault_mode, c.identity), (Level::Info, FaultMode::Inject, false));
    }

    #[test]
    fn all_options() {
        let c = p("-k rom/Image.gz -d rom/virt.dtb -r rom/initrd -c console=ttyAMA0 \
                   -b 0x40000000 -D debug -f halt -i")
        .unwrap();
        assert_eq!(
            c,
            Config {
                kernel: Some("rom/Image.gz".into()),
                dtb: Some("rom/virt.dtb".into()),
                ramdisk: Some("rom/initrd".into()),
                cmdline: Some("console=ttyAMA0".into()),
                rambase: Some(0x4000_0000),
                debug: Level::Debug,
                verbose: 0,
                quiet: false,
                fault_mode: FaultMode::Halt,
                identity: true,
            }
        );
    }

    #[test]
    fn long_and_joined_forms() {
        let c = parse(
            ["--kernel=Image", "--dtb", "g.dtb", "--cmdline=console=ttyAMA0 quiet"].into_iter(),
        )
        .unwrap();
        assert_eq!(c.kernel.as_deref(), Some("Image"));
        assert_eq!(c.dtb.as_deref(), Some("g.dtb"));
        assert_eq!(c.cmdline.as_deref(), Some("console=ttyAMA0 quiet"));
        let c = p("-kImage -b1073741824 --fault-mode=ignore --rambase=0x8000_0000").unwrap();
        assert_eq!(c.kernel.as_deref(), Some("Image"));
        assert_eq!(c.rambase, Some(0x8000_0000));
        assert_eq!(c.fault_mode, FaultMode::Ignore);
        let c = p("-b1073741824").unwrap();
        assert_eq!(c.rambase, Some(0x4000_0000));
    }

    #[test]
    fn verbosity() {
        assert_eq!(p("-v").unwrap().debug, Level::Debug);
        assert_eq!(p("-vvvv").unwrap().debug, Level::Trace);
        assert_eq!(p("-vv -v").unwrap().verbose, 3);
        assert_eq!(p("-q").unwrap().debug, Level::Quiet);
        assert!(p("-q").unwrap().quiet && !p("-v").unwrap().quiet);
        assert_eq!(p("-q -v").unwrap().debug, Level::Warn);
        assert_eq!(p("-D 0").unwrap().debug, Level::Quiet);
        assert_eq!(p("-D4").unwrap().debug, Level::Trace);
        assert_eq!(p("--debug warn").unwrap().debug, Level::Warn);
        let c = p("-vik Image").unwrap();
        assert_eq!((c.debug, c.identity, c.kernel.as_deref()), (Level::Debug, true, Some("Image")));
    }

    #[test]
    fn errors() {
        let e = p("-x").unwrap_err();
        assert_eq!(e, ArgError::Unknown("-x".into()));
        assert!(e.to_string().starts_with("unknown option `-x`; known: -k/--kernel"), "{e}");
        assert_eq!(p("--frob=1").unwrap_err(), ArgError::Unknown("--frob".into()));
        assert_eq!(p("-k").unwrap_err(), ArgError::MissingValue("-k".into()));
        assert_eq!(p("--dtb").unwrap_err(), ArgError::MissingValue("--dtb".into()));
        let e = p("-b 0xzz").unwrap_err();
        assert_eq!(
            e.to_string(),
            "option `-b`: bad value `0xzz` (expected an address, 0x... or decimal)"
        );
        assert!(p("-D 5").unwrap_err().to_string().contains("`5`"));
        assert!(p("--debug=loud").unwrap_err().to_string().contains("option `--debug`"));
        let e = p("-f explode").unwrap_err();
        assert_eq!(
            e,
            ArgError::BadValue {
                option: "-f".into(),
                value: "explode".into(),
                expected: "ignore, halt or inject"
            }
        );
        assert_eq!(p("Image").unwrap_err(), ArgError::Stray("Image".into()));
        assert_eq!(p("-").unwrap_err(), ArgError::Stray("-".into()));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x40000000"), Some(0x4000_0000));
        assert_eq!(parse_number("0X10"), Some(16));
        assert_eq!(parse_number("4096"), Some(4096));
        assert_eq!(parse_number("0x1_0000_0000"), Some(1 << 32));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("-1"), None);
    }
}
