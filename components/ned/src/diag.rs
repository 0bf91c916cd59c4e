//! Diagnostics: `file:line:col: error: message`, then the source line and a
//! caret under the column, the form compilers use. Built `no_std` so the
//! root task reports a broken boot script exactly as `build ned check`
//! does on the host (rather than through `ariadne`, which needs `std`).

use alloc::format;
use alloc::string::String;
use core::fmt;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A place in a script: file name as the script knows it (`rom/x.ned` on
/// the target, the path on the host), 1-based line and column (0: unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}", self.file),
            (l, 0) => write!(f, "{}:{l}", self.file),
            (l, c) => write!(f, "{}:{l}:{c}", self.file),
        }
    }
}

/// One message about a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pos: Pos,
    pub message: String,
}

impl Diagnostic {
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, pos, message: message.into() }
    }

    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, pos, message: message.into() }
    }

    /// The diagnostic with the line of `source` it points at and a caret
    /// under its column, each line ending in `\n`.
    pub fn render(&self, source: Option<&str>) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{}: {kind}: {}\n", self.pos, self.message);
        let line = source.and_then(|s| s.lines().nth(self.pos.line.checked_sub(1)?));
        if let Some(text) = line {
            let num = format!("{}", self.pos.line);
            let pad = " ".repeat(num.len());
            out += &format!("{num} | {text}\n");
            if self.pos.col > 0 {
                // Tabs stay tabs so the caret lines up in a terminal.
                let lead: String = text
                    .chars()
                    .take(self.pos.col - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out += &format!("{pad} | {lead}^\n");
            }
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let d = Diagnostic::error(Pos { file: "a.ned".into(), line: 2, col: 5 }, "boom");
        let src = "let a = 1;\nlet b = c;\n";
        assert_eq!(d.render(Some(src)), "a.ned:2:5: error: boom\n2 | let b = c;\n  |     ^\n");
        assert_eq!(d.render(None), "a.ned:2:5: error: boom\n");
        let w = Diagnostic::warning(Pos { file: "b".into(), line: 9, col: 0 }, "w");
        assert_eq!(w.render(Some("x")), "b:9: warning: w\n");
    }
}
