//! What reading a list keeps of a line that names files: where it is, how it
//! names them, and for a kernel, roottask, module or data line its options.

use std::path::PathBuf;

use super::text::Text;
use super::{Diag, Kind};

/// Where a line is.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl Origin {
    pub(super) fn diag(&self, msg: impl Into<String>) -> Diag {
        Diag::new(&self.file, self.line, msg)
    }

    /// The directory of the file: the base of relative paths on the line and
    /// where its `[shell]` command runs.
    pub(super) fn dir(&self) -> PathBuf {
        match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// How a line names its files.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// A path, then arguments; each word expanded on its own.
    Words(Vec<Text>),
    /// `[glob]`: patterns.
    Glob(Vec<Text>),
    /// `[shell]`: a command whose output lines name the files.
    Shell(String),
}

/// A line that names files or directories, with what resolving it needs.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub source: Source,
    pub at: Origin,
    /// The variables in scope, for the environment of a `[shell]` command.
    pub env: Vec<(String, Text)>,
}

/// A kernel, roottask, module or data line.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub kind: Kind,
    pub spec: Spec,
    pub fname: Option<String>,
    pub uncompress: bool,
    pub nostrip: bool,
}

impl Item {
    /// See [`super::Entry::mentions`].
    pub(super) fn mentions(&self, file_name: &str) -> bool {
        match &self.spec.source {
            Source::Words(words) => {
                words.first().and_then(Text::file_name).is_some_and(|n| n == file_name)
            }
            Source::Glob(patterns) => patterns
                .iter()
                .filter_map(Text::file_name)
                .any(|p| glob::Pattern::new(&p).is_ok_and(|pattern| pattern.matches(file_name))),
            Source::Shell(command) => command.contains(file_name),
        }
    }
}
