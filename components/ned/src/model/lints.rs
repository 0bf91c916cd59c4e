//! Warnings about a script that ran through the [`Model`]: things that
//! start fine but cannot work as meant, found only by seeing the whole
//! script: a channel nobody gets, a channel with a server and no client
//! (or the reverse), a cap the program never looks up (from the names its
//! `.ned_caps` ELF section lists), a cap whose rights `m()` took away.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::Model;
use crate::{Cap, Diagnostic, LogSpec, Obj};

/// Who holds one end of a channel.
struct End {
    /// `rom/prog args` as `name`, or the loader itself (`log_fab`).
    holder: String,
    server: bool,
}

impl Model {
    /// Every warning: [`Model::channel_lints`] then [`Model::start_lints`].
    pub fn lints(&self, looks_up: impl FnMut(&str) -> Option<Vec<String>>) -> Vec<Diagnostic> {
        let mut out = self.channel_lints();
        out.extend(self.start_lints(looks_up));
        out
    }

    /// Warnings about channels, at the line that made each: never given to
    /// a program, or given with only its server end or only client ends.
    /// Meaningful once the script has run to its end.
    pub fn channel_lints(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for ch in &self.channels {
            let ends = self.ends_of(ch.id);
            let servers: Vec<&End> = ends.iter().filter(|e| e.server).collect();
            let clients: Vec<&End> = ends.iter().filter(|e| !e.server).collect();
            let msg = match (servers.first(), clients.first()) {
                (None, None) => "this channel is never given to a program".into(),
                (Some(s), None) => format!(
                    "this channel's server end goes to {}, but no program gets its client end, \
                     so nothing ever calls it",
                    s.holder
                ),
                (None, Some(c)) => format!(
                    "this channel goes to {}, but no program gets its server end (`svr()`), \
                     so calls on it block forever",
                    c.holder
                ),
                (Some(_), Some(_)) => continue,
            };
            out.push(Diagnostic::warning(ch.at.clone(), msg));
        }
        out
    }

    /// Warnings about the caps of each `start`, at its call: a cap with no
    /// rights left, and a cap name the program never looks up.
    /// `looks_up(program)` gives the names in the program's `.ned_caps`
    /// section, or `None` when they are not known (then that check is
    /// skipped for it).
    pub fn start_lints(
        &self,
        mut looks_up: impl FnMut(&str) -> Option<Vec<String>>,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for t in &self.tasks {
            let req = &t.req;
            let prog = format!("rom/{}", req.program);
            for (name, cap) in &req.caps {
                if cap.rights == 0 {
                    out.push(Diagnostic::warning(
                        req.at.clone(),
                        format!(
                            "{prog} is given cap `{name}` ({}) with no rights left after m()",
                            super::object_name(cap)
                        ),
                    ));
                }
            }
            let Some(mut known) = looks_up(&req.program) else { continue };
            known.sort();
            known.dedup();
            for (name, cap) in &req.caps {
                if !looked_up(&known, name, cap) {
                    let list = if known.is_empty() {
                        "it looks up no caps".into()
                    } else {
                        format!("it looks up: {}", known.join(", "))
                    };
                    out.push(Diagnostic::warning(
                        req.at.clone(),
                        format!("{prog} is given cap `{name}` but never looks it up ({list})"),
                    ));
                }
            }
        }
        out
    }

    /// Who holds an end of channel `id`.
    fn ends_of(&self, id: u32) -> Vec<End> {
        let mut ends = Vec::new();
        let is = |c: &Cap| match c.obj {
            Obj::Channel { id: i, server } if i == id => Some(server),
            _ => None,
        };
        for t in &self.tasks {
            let req = &t.req;
            for (name, cap) in &req.caps {
                if let Some(server) = is(cap) {
                    ends.push(End { holder: format!("{} as `{name}`", req.cmdline), server });
                }
            }
            match (&req.log, &req.log_fab) {
                (LogSpec::Cap(c), _) => {
                    if let Some(server) = is(c) {
                        ends.push(End { holder: format!("{} as `log`", req.cmdline), server });
                    }
                }
                // The loader calls the log_fab for each tagged log.
                (LogSpec::Tagged { .. }, Some(fab)) => {
                    if let Some(server) = is(fab) {
                        ends.push(End { holder: "the loader as `log_fab`".into(), server });
                    }
                }
                (LogSpec::Tagged { .. }, None) => {}
            }
        }
        ends
    }
}

/// Whether a program that looks up `known` uses cap `name`. `L4.Env.sigma0`
/// arrives as one cap per device untyped, `name/<address>`, and
/// `L4.Env.mmio` of memory several programs map (the GIC's virtual CPU
/// interface) as one frame per page, `name/<page>`.
fn looked_up(known: &[String], name: &str, cap: &Cap) -> bool {
    // `*`: the program walks its environment (`uses_any_cap_name!`).
    if known.iter().any(|k| k == "*") {
        return true;
    }
    if known.iter().any(|k| k == name) {
        return true;
    }
    let split = matches!(&cap.obj, Obj::Env { name: n, .. } if n == "sigma0")
        || matches!(cap.obj, Obj::Mmio { .. });
    split && known.iter().any(|k| k.strip_prefix(name).is_some_and(|r| r.starts_with('/')))
}
