//! Variables: `set NAME VALUE` and their expansion, `$NAME`, `${NAME}` and `$$`.
//!
//! Lines are expanded while the file is read, so a line sees the variables set
//! above it. The source base (`$SRC_BASE_ABS`, `$SRC_BASE`) is known only when a
//! build resolves an entry; an expanded line keeps it as an open slot ([`Text`])
//! that [`Text::render`] fills in.

use std::collections::BTreeMap;
use std::path::Path;

/// The predefined variables: both stand for the repository root.
pub(super) const SRC_BASE_VARS: [&str; 2] = ["SRC_BASE_ABS", "SRC_BASE"];

/// An expanded piece of a line: literal text with slots for the source base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Text(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    SrcBase,
}

impl Text {
    /// Text without variables.
    pub(super) fn literal(s: &str) -> Text {
        let mut t = Text::default();
        t.push_str(s);
        t
    }

    fn push_str(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some(Piece::Lit(last)) => last.push_str(s),
            _ => self.0.push(Piece::Lit(s.to_owned())),
        }
    }

    fn push_text(&mut self, other: &Text) {
        for p in &other.0 {
            match p {
                Piece::Lit(s) => self.push_str(s),
                Piece::SrcBase => self.0.push(Piece::SrcBase),
            }
        }
    }

    /// The text with the source base filled in.
    pub(super) fn render(&self, src_base: &Path) -> String {
        let base = src_base.to_string_lossy();
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.as_str(),
                Piece::SrcBase => &base,
            })
            .collect()
    }

    /// The text, if it does not use the source base.
    pub(super) fn as_literal(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => Some(String::new()),
            [Piece::Lit(s)] => Some(s.clone()),
            _ => None,
        }
    }

    /// The part after the last `/`, if that part does not depend on the
    /// source base.
    pub(super) fn file_name(&self) -> Option<String> {
        let mut tail = String::new();
        for p in self.0.iter().rev() {
            match p {
                Piece::Lit(s) => match s.rsplit_once('/') {
                    Some((_, after)) => return Some(format!("{after}{tail}")),
                    None => tail.insert_str(0, s),
                },
                Piece::SrcBase => return None,
            }
        }
        Some(tail)
    }
}

/// Whether `s` is a variable name: letters, digits and `_`, not starting with
/// a digit.
pub(super) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables in scope: those set outside any entry, and those set in the
/// current entry or group (which end with it).
#[derive(Debug, Clone, Default)]
pub(super) struct Vars {
    global: BTreeMap<String, Text>,
    local: BTreeMap<String, Text>,
}

impl Vars {
    /// Defines `name`; `local` ones last until [`Vars::end_section`].
    pub(super) fn set(&mut self, name: &str, value: Text, local: bool) {
        let map = if local { &mut self.local } else { &mut self.global };
        map.insert(name.to_owned(), value);
    }

    /// Forgets the variables of the entry or group that ends.
    pub(super) fn end_section(&mut self) {
        self.local.clear();
    }

    /// Every variable in scope, for the environment of `[shell]` commands.
    pub(super) fn all(&self) -> Vec<(String, Text)> {
        let mut merged = self.global.clone();
        merged.extend(self.local.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged.into_iter().collect()
    }

    fn lookup(&self, name: &str) -> Result<Text, String> {
        if SRC_BASE_VARS.contains(&name) {
            return Ok(Text(vec![Piece::SrcBase]));
        }
        self.local.get(name).or_else(|| self.global.get(name)).cloned().ok_or_else(|| {
            format!("undefined variable `${name}` (define it above with `set {name} VALUE`)")
        })
    }

    /// Expands the variables in `s`.
    pub(super) fn expand(&self, s: &str) -> Result<Text, String> {
        let mut out = Text::default();
        let mut rest = s;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push_str("$");
                rest = tail;
                continue;
            }
            let (name, tail) = split_reference(after)?;
            out.push_text(&self.lookup(name)?);
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Splits what follows a `$` into the variable name and the rest.
fn split_reference(after: &str) -> Result<(&str, &str), String> {
    let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
        let end = braced.find('}').ok_or_else(|| "`${` without its closing `}`".to_owned())?;
        (&braced[..end], &braced[end + 1..])
    } else {
        let len =
            after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        after.split_at(len)
    };
    if !is_name(name) {
        return Err(
            "`$` must be followed by a variable name or `{NAME}` (write `$$` for a `$`)".to_owned()
        );
    }
    Ok((name, tail))
}
