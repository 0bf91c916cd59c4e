//! Rhai's errors as [`Diagnostic`]s: the innermost error of the chain
//! (through imported modules and the functions it ran in), at its own file,
//! line and column. Shared by ned and the io configuration scripts.

use alloc::format;
use alloc::string::{String, ToString};

use rhai::{EvalAltResult, Position};

use crate::engine::module_file;
use crate::{Diagnostic, Pos};

/// Line and column of a Rhai position (0 where unknown).
pub fn line_col(p: Position) -> (usize, usize) {
    (p.line().unwrap_or(0), p.position().unwrap_or(0))
}

/// The innermost error of `e`'s chain, in the file it happened in (`main`
/// unless a module or a function from another source was running).
/// `explain` may word an error its caller knows better.
pub fn diagnose(
    main: &str,
    e: &EvalAltResult,
    explain: &dyn Fn(&EvalAltResult) -> Option<String>,
) -> Diagnostic {
    let mut file = main.to_string();
    let mut e = e;
    let mut outer_pos = e.position();
    loop {
        match e {
            EvalAltResult::ErrorInModule(path, inner, pos) => {
                outer_pos = *pos;
                if let Some(p) = module_file(path) {
                    file = p;
                }
                e = inner;
            }
            EvalAltResult::ErrorInFunctionCall(_, src, inner, pos) => {
                outer_pos = *pos;
                if !src.is_empty() {
                    file = src.clone();
                }
                e = inner;
            }
            _ => break,
        }
    }
    let pos = if e.position().is_none() { outer_pos } else { e.position() };
    let (line, col) = line_col(pos);
    let message = match (explain(e), e) {
        (Some(m), _) => m,
        (None, EvalAltResult::ErrorRuntime(msg, _)) => msg.to_string(),
        (None, EvalAltResult::ErrorParsing(p, _)) => format!("syntax error: {p}"),
        (None, other) => {
            // Rhai appends " (line N, position M)"; the diagnostic says so already.
            let s = other.to_string();
            match s.rfind(" (line ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    };
    Diagnostic::error(Pos { file, line, col }, message)
}
