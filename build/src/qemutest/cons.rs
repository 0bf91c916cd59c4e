//! QEMU tests of cons, booted by moe from `ned-scripts/test-cons.ned` (the
//! seed's wiring: `log_fab` a channel whose server end cons gets): lines of
//! concurrent writers arrive whole with the right tag and colour; typed
//! input goes to the client Ctrl-E focused, and the prompt answers.

use anyhow::{Result, bail, ensure};
use std::time::Duration;

use crate::project::{Built, Project};
use crate::qemu::Session;

const LIMIT: Duration = Duration::from_secs(60);
const LINES: usize = 300;

fn boot(project: &Project) -> Result<Session> {
    let Built { path, .. } = project.image("ned-cons")?;
    Session::start(&path, &super::options())
}

fn expect(s: &mut Session, text: &str) -> Result<String> {
    match s.expect(text, LIMIT.saturating_sub(s.elapsed())) {
        Ok(got) => Ok(got),
        Err(e) => bail!("{e}\n--- console ---\n{}", super::ned::plain(&s.output())),
    }
}

/// Two programs print 300 lines each, every line in three writes, at the
/// same priority (so the scheduler switches between them mid-line); every
/// line must come out whole, in order, with its writer's tag and colour
/// (the focused writer's may show in part first, broken off by the
/// other's), and the two writers' lines must alternate at least once.
pub fn concurrent_lines(project: &Project) -> Result<()> {
    let mut s = boot(project)?;
    expect(&mut s, "flood1 exit code 0, flood2 exit code 0")?;
    let raw = s.output();
    let payload = "abcdefghijklmnopqrstuvwxyz0123456789";
    let mut next = [0usize; 2];
    let mut last = None;
    let mut switches = 0;
    for line in raw.lines() {
        let line = line.trim_end_matches('\r');
        let plain = super::ned::plain(line);
        for (w, (tag, id, colour)) in
            [("flood1  | ", "A", "\x1b[31m"), ("flood2  | ", "B", "\x1b[32m")].iter().enumerate()
        {
            if plain.contains(tag) || plain.contains(&format!(" {id} end")) {
                let want = format!("{tag}{id} {:04} {payload} {id} end", next[w]);
                // The focused writer's (flood1's) line shows as it comes; a
                // line of the other writer breaks it off, then it is
                // written again, whole once its newline comes.
                if plain != want && want.starts_with(&plain) && line.starts_with(colour) {
                    continue;
                }
                ensure!(plain == want, "line {:?}, expected {want:?}", plain);
                ensure!(line.starts_with(colour), "line {line:?} lacks its colour");
                next[w] += 1;
                if last.is_some_and(|l| l != w) {
                    switches += 1;
                }
                last = Some(w);
            }
        }
    }
    ensure!(next == [LINES, LINES], "lines seen: flood1 {}, flood2 {}", next[0], next[1]);
    ensure!(switches >= 1, "the two writers never alternated");
    Ok(())
}

/// Input typed before focusing goes to the first client (which never
/// reads it); Ctrl-E 3 focuses `echo`, whose read gets the next line; the
/// Ctrl-E . prompt lists the clients with the focus marked; `quit` ends
/// echo, and the script sees its exit code.
pub fn input_focus(project: &Project) -> Result<()> {
    let mut s = boot(project)?;
    expect(&mut s, "flood1 exit code 0, flood2 exit code 0")?;
    s.send("before\r")?;
    s.send("\x053")?;
    expect(&mut s, "[cons: input goes to echo]")?;
    s.send("hello\r")?;
    let got = expect(&mut s, "echo    | echo: got hello")?;
    ensure!(!got.contains("got before"), "input typed before the focus switch reached echo");
    s.send("\x05.")?;
    expect(&mut s, "cons> ")?;
    s.send("list\r")?;
    expect(&mut s, "* 3 echo     shown")?;
    s.send("\x05.help\r")?;
    expect(&mut s, "commands: list, show CLIENT, hide CLIENT, cat CLIENT, help")?;
    s.send("quit\r")?;
    expect(&mut s, "echo    | echo: got quit")?;
    expect(&mut s, "ned     | echo exit code 0")?;
    Ok(())
}
