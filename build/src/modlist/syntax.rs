//! One line of a modules.list: `directive[options] arguments # comment`.
//!
//! As in L4Re, `#` starts a comment anywhere on a line, the directive is
//! matched without regard to case, and options are a comma-separated list of
//! `key` or `key=value` in brackets right after the directive.

/// A line split into its parts.
#[derive(Debug)]
pub(super) struct Line<'a> {
    /// The directive, lowercased.
    pub directive: String,
    pub opts: Vec<Opt>,
    /// Everything after the directive and its options, trimmed.
    pub args: &'a str,
}

/// Splits a line; `None` for blank and comment-only lines.
pub(super) fn split_line(raw: &str) -> Result<Option<Line<'_>>, String> {
    let text = raw.split_once('#').map_or(raw, |(code, _)| code).trim();
    if text.is_empty() {
        return Ok(None);
    }
    let end = text.find(|c: char| c.is_whitespace() || c == '[').unwrap_or(text.len());
    let (directive, rest) = text.split_at(end);
    let (opts, rest) = match rest.strip_prefix('[') {
        Some(inner) => {
            let (list, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("`{directive}[` without its closing `]`"))?;
            if after.starts_with(|c: char| !c.is_whitespace()) {
                return Err(format!("expected a space after `{directive}[{list}]`"));
            }
            (parse_opts(list)?, after)
        }
        None => (Vec::new(), rest),
    };
    let args = rest.trim();
    if args.starts_with('[') {
        return Err(format!(
            "options go right after the directive, without a space: `{directive}[...]`"
        ));
    }
    let directive = directive.to_ascii_lowercase();
    Ok(Some(Line { directive, opts, args }))
}

/// One option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Opt {
    Uncompress,
    Nostrip,
    Shell,
    Glob,
    NoShlibScan,
    NoDefaults,
    Fname(String),
    Arch(String),
    Bits(String),
}

impl Opt {
    /// The option's key as written.
    pub(super) fn key(&self) -> &'static str {
        match self {
            Opt::Uncompress => "uncompress",
            Opt::Nostrip => "nostrip",
            Opt::Shell => "shell",
            Opt::Glob => "glob",
            Opt::NoShlibScan => "no-shlib-scan",
            Opt::NoDefaults => "no-defaults",
            Opt::Fname(_) => "fname",
            Opt::Arch(_) => "arch",
            Opt::Bits(_) => "bits",
        }
    }
}

fn parse_opts(list: &str) -> Result<Vec<Opt>, String> {
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    list.split(',').map(parse_opt).collect()
}

fn parse_opt(piece: &str) -> Result<Opt, String> {
    let (key, value) = match piece.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (piece.trim(), None),
    };
    let flag = |opt: Opt| match value {
        None => Ok(opt),
        Some(_) => Err(format!("option `{key}` takes no value")),
    };
    let valued = |make: fn(String) -> Opt| match value {
        Some(v) if !v.is_empty() => Ok(make(v.to_owned())),
        _ => Err(format!("option `{key}` needs a value: `{key}=...`")),
    };
    match key {
        "uncompress" => flag(Opt::Uncompress),
        "nostrip" => flag(Opt::Nostrip),
        "shell" => flag(Opt::Shell),
        "glob" => flag(Opt::Glob),
        "no-shlib-scan" => flag(Opt::NoShlibScan),
        "no-defaults" => flag(Opt::NoDefaults),
        "fname" => valued(Opt::Fname),
        "arch" => valued(Opt::Arch),
        "bits" => valued(Opt::Bits),
        _ => Err(unsupported_option(key)),
    }
}

fn unsupported_option(key: &str) -> String {
    match key {
        "" => "empty option in `[...]`".to_owned(),
        "perl" => "option `perl` is not supported: modules.list runs no Perl here; \
                   use `[shell]` instead"
            .to_owned(),
        "compress" => "option `compress` is not supported: modules are packed as they are; \
                       list a gzip file with `[uncompress]` to have it inflated"
            .to_owned(),
        k if k.starts_with("attr:") => {
            format!("option `{k}` is not supported: this image format has no module attributes")
        }
        k => format!(
            "unknown option `{k}` (known: uncompress, shell, glob, fname=, nostrip, arch=, bits=)"
        ),
    }
}

/// The options of one line, checked against what its directive accepts.
#[derive(Debug, Clone, Default)]
pub(super) struct Opts {
    pub uncompress: bool,
    pub nostrip: bool,
    pub shell: bool,
    pub glob: bool,
    pub no_defaults: bool,
    pub fname: Option<String>,
    arch: Option<String>,
    bits: Option<String>,
}

impl Opts {
    /// Collects `opts` for `directive`, which accepts the option keys in
    /// `allowed`. A key given twice, or one the directive does not take, is an
    /// error.
    pub(super) fn check(opts: Vec<Opt>, directive: &str, allowed: &[&str]) -> Result<Opts, String> {
        let mut out = Opts::default();
        let mut seen: Vec<&str> = Vec::new();
        for opt in opts {
            let key = opt.key();
            if !allowed.contains(&key) {
                return Err(format!("option `{key}` does not apply to `{directive}`"));
            }
            if seen.contains(&key) {
                return Err(format!("option `{key}` is given twice"));
            }
            seen.push(key);
            out.add(opt);
        }
        if out.shell && out.glob {
            return Err("options `shell` and `glob` cannot be combined".to_owned());
        }
        Ok(out)
    }

    fn add(&mut self, opt: Opt) {
        match opt {
            Opt::Uncompress => self.uncompress = true,
            Opt::Nostrip => self.nostrip = true,
            Opt::Shell => self.shell = true,
            Opt::Glob => self.glob = true,
            Opt::NoDefaults => self.no_defaults = true,
            Opt::NoShlibScan => {}
            Opt::Fname(v) => self.fname = Some(v),
            Opt::Arch(v) => self.arch = Some(v),
            Opt::Bits(v) => self.bits = Some(v),
        }
    }

    /// Whether `arch=` and `bits=` (lists separated by `|`) include this
    /// target, 64-bit arm64 (also accepted as `aarch64`).
    pub(super) fn selects_target(&self) -> bool {
        let any = |list: &Option<String>, want: &[&str]| {
            list.as_deref().is_none_or(|l| {
                l.split(|c: char| c == '|' || c.is_whitespace())
                    .any(|v| want.contains(&v.to_ascii_lowercase().as_str()))
            })
        };
        any(&self.arch, &["arm64", "aarch64"]) && any(&self.bits, &["64"])
    }
}
