//! QEMU tests of the moe root task and its ned boot scripts: programs
//! started by a script talk over a channel, a program cannot use caps it
//! was not given and its crash stops only it, a script error is reported
//! with line and column while what the script started keeps running.

use crate::project::{Built, Project};
use anyhow::{Context, Result, bail, ensure};

/// The console output without ANSI colour sequences.
pub fn plain(out: &str) -> String {
    let mut s = String::with_capacity(out.len());
    let mut chars = out.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// Boots `entry` to its halt; checks that each of `want` appears in the
/// plain output, in order, and that none of `never` appears.
fn run(project: &Project, entry: &str, want: &[String], never: &[&str]) -> Result<String> {
    let Built { path, .. } = project.image(entry)?;
    let (out, _, _) = super::boot_to_exit(&path, &["moe: no program is left running"])?;
    let out = plain(&out);
    let mut at = 0;
    for w in want {
        match out[at..].find(w.as_str()) {
            Some(i) => at += i + w.len(),
            None => bail!("`{w}` missing (or out of order)\n--- console ---\n{out}"),
        }
    }
    for n in never {
        ensure!(!out.contains(n), "`{n}` should not appear\n--- console ---\n{out}");
    }
    Ok(out)
}

fn script(project: &Project, name: &str) -> Result<String> {
    let p = project.root.join("ned-scripts").join(name);
    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
}

/// `ned-channel`: a function imported from rom/test-lib.rhai starts a
/// program that maps a rom/ module (its size and first line must match the
/// host's file); pong and ping exchange 1000 checked calls over a channel;
/// the script waits, reads states and exit codes, kills pong.
pub fn channel(project: &Project) -> Result<()> {
    let text = script(project, "test-channel.ned")?;
    let first = text.lines().next().unwrap_or("");
    let want = [
        format!("reader  | rom/test-channel.ned: {} bytes, first line: {first}", text.len()),
        "ned     | reader exit code 0".into(),
        "ping    | 1000 round trips".into(),
        "ned     | ping ended: exited, exit code 0".into(),
        "ned     | pong is running".into(),
        "ned     | pong is killed after kill()".into(),
    ];
    run(project, "ned-channel", &want, &["crashed"]).map(|_| ())
}

/// `ned-isolation`: a program invokes every slot of its CNode it was not
/// given (all refused by the kernel), the slot where the victim keeps its
/// channel, a rom/ module that is not there, and a cptr past its CNode (a
/// cap fault: moe reports the crash with the program's name); another
/// program's page fault is reported the same way; the victim and its
/// client go on and finish their 50 calls.
pub fn isolation(project: &Project) -> Result<()> {
    let slots = 4096 - 7 - 3; // all but the null slot, the fixed caps, log, rom and mem
    let want = [
        format!(
            "attacker| guessed slots: {slots} refused ({slots} invalid capability), 0 succeeded"
        ),
        "attacker| the victim's channel slot 19: call refused with Some(InvalidCapability)".into(),
        "attacker| rom/no-such-module: NotFound".into(),
        "moe: `rom/nedtest attack` crashed: cap fault on cptr 0x10000000000".into(),
        "ned     | attacker: crashed".into(),
        "moe: `rom/nedtest crash` crashed: page fault at 0x10 (data access".into(),
        "ned     | crasher: crashed, exit code ".into(),
        "friend  | 50 round trips".into(),
        "victim  | served 50 calls; stopping".into(),
        "ned     | victim: exited, exit code 0".into(),
    ];
    let never = ["an invocation succeeded", "returned?", "went through?", "opened?"];
    run(project, "ned-isolation", &want, &never).map(|_| ())
}

/// `ned-error`: the script's line 5 has an unknown key; moe prints
/// `file:line:col: error:`, the line and a caret under the column, says
/// what keeps running; ping and pong, started before, finish their calls.
pub fn script_error(project: &Project) -> Result<()> {
    let text = script(project, "test-error.ned")?;
    let (n, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("cpas"))
        .context("test-error.ned has no `cpas` line")?;
    let col = line.find("start(").context("no start( on the error line")? + 1;
    let num = format!("{}", n + 1);
    let want = [
        format!("rom/test-error.ned:{}:{col}: error: start: unknown key `cpas`", n + 1),
        format!("{num} | {line}"),
        format!("{} | {}^", " ".repeat(num.len()), " ".repeat(col - 1)),
        "moe: rom/test-error.ned stopped at this error; 2 program(s) it started keep running"
            .into(),
        "ping    | 20 round trips".into(),
        "pong    | served 20 calls; stopping".into(),
    ];
    run(project, "ned-error", &want, &["not reached"]).map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_colours() {
        assert_eq!(super::plain("\x1b[31mio      | x\x1b[0m\n"), "io      | x\n");
    }

    #[test]
    fn scripts_exist() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ned-scripts");
        for s in ["test-channel.ned", "test-isolation.ned", "test-error.ned", "test-lib.rhai"] {
            assert!(root.join(s).is_file(), "{s}");
        }
    }
}
