//! The multiplexer's logic, free of hardware so it is tested on the host:
//! clients with a tag, a colour and a key; their output cut into whole
//! lines, each written at once with its prefix (so lines of different
//! clients never mix inside a line), kept in a bounded history; keyboard
//! input routed to the focused client; Ctrl-E commands.
//!
//! Keys typed after Ctrl-E:
//!
//! ```text
//!  <client key>  focus that client (keys 1-9, then a-z, in creation order)
//!  .             open the prompt: list, show C, hide C, cat C, help
//!  Ctrl-E        send a literal Ctrl-E to the focused client
//! ```
//!
//! Buffers: a client's unfinished line is kept up to [`MAX_LINE`] bytes,
//! then written as a line of its own (marked with a trailing `\`); the
//! history keeps the last [`HISTORY_LINES`] lines per client (older ones
//! leave the history, never the screen); input waiting for a client is
//! capped at [`MAX_INPUT`] bytes, beyond which typed bytes are refused with
//! a bell. Output is never dropped: a writer's call returns only once its
//! bytes are on the line, so a fast writer waits.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Ctrl-E, the escape key.
pub const ESCAPE: u8 = 0x05;
/// Longest unfinished line kept for a client.
pub const MAX_LINE: usize = 1024;
/// Lines of history per client.
pub const HISTORY_LINES: usize = 256;
/// Bytes of typed input kept for a client that does not read.
pub const MAX_INPUT: usize = 4096;
/// Longest tag shown.
pub const TAG_WIDTH: usize = 8;
const KEYS: &[u8] = b"123456789abcdefghijklmnopqrstuvwxyz";

/// One client.
pub struct Client {
    pub tag: String,
    /// ANSI colour code ("31" for red), empty for none.
    pub colour: String,
    pub key: Option<u8>,
    pub shown: bool,
    partial: Vec<u8>,
    pub history: VecDeque<String>,
    pub input: VecDeque<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    Escape,
    Prompt,
}

/// The multiplexer.
pub struct Mux {
    pub clients: Vec<Client>,
    /// `-a`: every client's output shows as it comes (else only the focused one's).
    pub show_all: bool,
    pub focus: Option<usize>,
    mode: Mode,
    line: String,
}

/// Something the caller must do after input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this to the terminal.
    Echo(String),
    /// Client `n` has new input.
    Input(usize),
}

impl Mux {
    pub fn new(show_all: bool) -> Self {
        Mux { clients: Vec::new(), show_all, focus: None, mode: Mode::Normal, line: String::new() }
    }

    /// Adds a client; the first one gets the focus.
    pub fn create(&mut self, tag: &str, colour: &str) -> usize {
        let n = self.clients.len();
        let tag: String = tag.chars().take(TAG_WIDTH).collect();
        self.clients.push(Client {
            tag,
            colour: colour.into(),
            key: KEYS.get(n).copied(),
            shown: true,
            partial: Vec::new(),
            history: VecDeque::new(),
            input: VecDeque::new(),
        });
        if self.focus.is_none() {
            self.focus = Some(n);
        }
        n
    }

    /// A finished line of client `n` as the terminal gets it.
    pub fn format_line(&self, n: usize, line: &str) -> String {
        let c = &self.clients[n];
        let tag = &c.tag;
        if c.colour.is_empty() {
            format!("{tag:<TAG_WIDTH$}| {line}\r\n")
        } else {
            format!("\x1b[{}m{tag:<TAG_WIDTH$}| {line}\x1b[0m\r\n", c.colour)
        }
    }

    fn visible(&self, n: usize) -> bool {
        self.clients[n].shown && (self.show_all || self.focus == Some(n))
    }

    fn finish_line(&mut self, n: usize, out: &mut dyn FnMut(&str), cut: bool) {
        let c = &mut self.clients[n];
        let bytes = core::mem::take(&mut c.partial);
        let mut line = String::from_utf8_lossy(&bytes).replace('\r', "");
        if cut {
            line.push('\\');
        }
        if c.history.len() == HISTORY_LINES {
            c.history.pop_front();
        }
        c.history.push_back(line.clone());
        if self.visible(n) {
            out(&self.format_line(n, &line));
        }
    }

    /// Client `n` wrote `bytes`: each finished line goes to `out` whole.
    pub fn write(&mut self, n: usize, bytes: &[u8], out: &mut dyn FnMut(&str)) {
        for &b in bytes {
            if b == b'\n' {
                self.finish_line(n, out, false);
            } else {
                self.clients[n].partial.push(b);
                if self.clients[n].partial.len() >= MAX_LINE {
                    self.finish_line(n, out, true);
                }
            }
        }
    }

    /// Takes up to `max` bytes of client `n`'s input.
    pub fn read(&mut self, n: usize, max: usize) -> Vec<u8> {
        let q = &mut self.clients[n].input;
        let k = q.len().min(max);
        q.drain(..k).collect()
    }

    /// A typed byte.
    pub fn key(&mut self, b: u8) -> Vec<Action> {
        match self.mode {
            Mode::Normal if b == ESCAPE => {
                self.mode = Mode::Escape;
                Vec::new()
            }
            Mode::Normal => self.deliver(b),
            Mode::Escape => {
                self.mode = Mode::Normal;
                self.escape(b)
            }
            Mode::Prompt => self.prompt_key(b),
        }
    }

    fn deliver(&mut self, b: u8) -> Vec<Action> {
        let Some(n) = self.focus else {
            return vec_of(Action::Echo("\x07".into()));
        };
        let c = &mut self.clients[n];
        if c.input.len() >= MAX_INPUT {
            return vec_of(Action::Echo("\x07".into()));
        }
        c.input.push_back(b);
        vec_of(Action::Input(n))
    }

    fn escape(&mut self, b: u8) -> Vec<Action> {
        if b == ESCAPE {
            return self.deliver(b);
        }
        if b == b'.' {
            self.mode = Mode::Prompt;
            self.line.clear();
            return vec_of(Action::Echo("\r\ncons> ".into()));
        }
        match self.clients.iter().position(|c| c.key == Some(b)) {
            Some(n) => {
                self.focus = Some(n);
                let t = &self.clients[n].tag;
                vec_of(Action::Echo(format!("\r\n[cons: input goes to {t}]\r\n")))
            }
            None => vec_of(Action::Echo(format!(
                "\r\n[cons: no client has key '{}'; Ctrl-E . then help]\r\n",
                b as char
            ))),
        }
    }

    fn prompt_key(&mut self, b: u8) -> Vec<Action> {
        match b {
            b'\r' | b'\n' => {
                self.mode = Mode::Normal;
                let line = core::mem::take(&mut self.line);
                let text = self.command(line.trim());
                vec_of(Action::Echo(format!("\r\n{text}")))
            }
            0x7f | 0x08 => {
                if self.line.pop().is_some() {
                    vec_of(Action::Echo("\x08 \x08".into()))
                } else {
                    Vec::new()
                }
            }
            0x20..0x7f => {
                self.line.push(b as char);
                vec_of(Action::Echo((b as char).to_string()))
            }
            _ => Vec::new(),
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.clients.iter().position(|c| c.tag.trim() == name)
    }

    /// Runs a prompt command; returns what to print (lines ending `\r\n`).
    pub fn command(&mut self, line: &str) -> String {
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let arg = words.next();
        let client = arg.and_then(|a| self.find(a));
        match (cmd, arg, client) {
            ("", ..) => String::new(),
            ("help", ..) => "commands: list, show CLIENT, hide CLIENT, cat CLIENT, help\r\n\
                 keys: Ctrl-E then a client's key focuses it; Ctrl-E . opens this prompt\r\n"
                .into(),
            ("list", ..) => {
                let mut s = String::new();
                for (i, c) in self.clients.iter().enumerate() {
                    let key = c.key.map_or(' ', |k| k as char);
                    let focus = if self.focus == Some(i) { "*" } else { " " };
                    let shown = if c.shown { "shown" } else { "hidden" };
                    s += &format!(
                        "{focus} {key} {:<TAG_WIDTH$} {shown}, {} lines\r\n",
                        c.tag,
                        c.history.len()
                    );
                }
                s
            }
            ("show" | "hide" | "cat", Some(_), Some(n)) => {
                if cmd == "cat" {
                    let lines: Vec<String> = self.clients[n].history.iter().cloned().collect();
                    lines.iter().map(|l| self.format_line(n, l)).collect()
                } else {
                    self.clients[n].shown = cmd == "show";
                    format!(
                        "{} is {}\r\n",
                        self.clients[n].tag,
                        if cmd == "show" { "shown" } else { "hidden" }
                    )
                }
            }
            ("show" | "hide" | "cat", Some(a), None) => format!("no client `{a}`; try list\r\n"),
            ("show" | "hide" | "cat", None, _) => format!("usage: {cmd} CLIENT\r\n"),
            (other, ..) => format!("unknown command `{other}`; try help\r\n"),
        }
    }
}

fn vec_of(a: Action) -> Vec<Action> {
    alloc::vec![a]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(m: &mut Mux, n: usize, bytes: &[u8]) -> String {
        let mut s = String::new();
        m.write(n, bytes, &mut |t| s.push_str(t));
        s
    }

    #[test]
    fn lines_come_out_whole_with_tag_and_colour() {
        let mut m = Mux::new(true);
        let io = m.create("io", "31");
        let vm = m.create("vm1", "");
        assert_eq!(collect(&mut m, io, b"Io ser"), "");
        assert_eq!(collect(&mut m, vm, b"boot\n"), "vm1     | boot\r\n");
        assert_eq!(collect(&mut m, io, b"vice\nRead"), "\x1b[31mio      | Io service\x1b[0m\r\n");
        assert_eq!(collect(&mut m, io, b"y.\r\n"), "\x1b[31mio      | Ready.\x1b[0m\r\n");
        assert_eq!(m.clients[io].history, ["Io service", "Ready."]);
    }

    #[test]
    fn long_tags_are_cut_and_long_lines_split() {
        let mut m = Mux::new(true);
        let c = m.create("averylongtag", "");
        assert_eq!(m.clients[c].tag, "averylon");
        let long = alloc::vec![b'x'; MAX_LINE + 10];
        let out = collect(&mut m, c, &long);
        assert_eq!(out.matches("\r\n").count(), 1);
        assert!(out.ends_with("\\\r\n"));
    }

    #[test]
    fn history_is_bounded_and_without_a_all_only_focus_shows() {
        let mut m = Mux::new(false);
        let a = m.create("a", "");
        let b = m.create("b", "");
        for i in 0..HISTORY_LINES + 5 {
            collect(&mut m, b, format!("{i}\n").as_bytes());
        }
        assert_eq!(m.clients[b].history.len(), HISTORY_LINES);
        assert_eq!(m.clients[b].history.front().map(String::as_str), Some("5"));
        assert_eq!(collect(&mut m, b, b"hidden\n"), "");
        assert_eq!(collect(&mut m, a, b"seen\n"), "a       | seen\r\n");
        let cat = m.command("cat b");
        assert!(cat.ends_with("b       | hidden\r\n"), "{cat}");
    }

    #[test]
    fn ctrl_e_switches_focus_and_input_follows() {
        let mut m = Mux::new(true);
        let a = m.create("a", "");
        let b = m.create("b", "");
        assert_eq!(m.key(b'x'), [Action::Input(a)]);
        assert!(m.key(ESCAPE).is_empty());
        assert_eq!(m.key(b'2'), [Action::Echo("\r\n[cons: input goes to b]\r\n".into())]);
        assert_eq!(m.key(b'y'), [Action::Input(b)]);
        assert_eq!(m.read(a, 10), b"x");
        assert_eq!(m.read(b, 10), b"y");
        m.key(ESCAPE);
        assert_eq!(m.key(ESCAPE), [Action::Input(b)]);
        assert_eq!(m.read(b, 10), [ESCAPE]);
        m.key(ESCAPE);
        assert!(matches!(&m.key(b'z')[0], Action::Echo(s) if s.contains("no client has key 'z'")));
    }

    #[test]
    fn prompt_commands() {
        let mut m = Mux::new(true);
        let a = m.create("io", "31");
        m.key(ESCAPE);
        assert_eq!(m.key(b'.'), [Action::Echo("\r\ncons> ".into())]);
        for &b in b"hide iox\x7f" {
            m.key(b);
        }
        let r = m.key(b'\r');
        assert_eq!(r, [Action::Echo("\r\nio is hidden\r\n".into())]);
        assert!(!m.clients[a].shown);
        assert_eq!(collect(&mut m, a, b"quiet\n"), "");
        assert!(m.command("list").contains("io       hidden, 1 lines"));
        assert!(m.command("show nobody").contains("no client `nobody`"));
        assert!(m.command("frob").contains("unknown command"));
        assert!(m.command("help").contains("Ctrl-E"));
        // Typing goes back to the client after the prompt.
        assert_eq!(m.key(b'q'), [Action::Input(a)]);
    }

    #[test]
    fn input_is_bounded() {
        let mut m = Mux::new(true);
        let a = m.create("a", "");
        for _ in 0..MAX_INPUT {
            m.key(b'k');
        }
        assert_eq!(m.key(b'k'), [Action::Echo("\x07".into())]);
        assert_eq!(m.read(a, usize::MAX).len(), MAX_INPUT);
    }
}
