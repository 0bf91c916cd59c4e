//! The multiplexer's logic, free of hardware so it is tested on the host:
//! clients with a tag, a colour and a key; their output written with a
//! prefix (`tag     | `, in the client's colour) so that lines of different
//! clients never mix inside a line, and kept in a bounded history;
//! keyboard input routed to the focused client; Ctrl-E commands.
//!
//! Keys typed after Ctrl-E:
//!
//! ```text
//!  <client key>  focus that client (keys 1-9, then a-z, in creation order)
//!  .             open the prompt: list, show C, hide C, cat C, help
//!  Ctrl-E        send a literal Ctrl-E to the focused client
//! ```
//!
//! Output. The focused client's output, if the client is shown, goes to
//! the screen as it arrives: its first bytes after a newline open a line
//! on the screen (prefix, then the bytes) and its newline ends that line,
//! so a shell's prompt and the echo of typed characters show at once.
//! Other output is line-buffered: a line is written whole when its newline
//! comes if its client is visible (shown, and focused or `-a`), else it
//! only goes to the history. Only one line is open on the screen at a
//! time: the focused client's or the `cons>` prompt (while the prompt is
//! open, the focused client's output is line-buffered too). When anything
//! else must be written (a whole line of another client, a message of
//! cons), the open line is broken (ended as a line ends), the other text
//! written, and the open line written again (prefix and its bytes so far,
//! or `cons> ` and what was typed), so it stays last on the screen. When
//! the focus moves, the open line is ended; its bytes stay as the client's
//! unfinished line, and the newly focused client's unfinished line, if
//! any, is shown. A line goes to the history once, when it is finished.
//!
//! Control bytes in a client's output: `\r` is dropped; a backspace
//! (0x08) removes the last character of the unfinished line and goes to
//! the screen if that line is open (a backspace at the start of a line is
//! dropped, as it would erase the prefix); DEL (0x7f) is not kept, and
//! goes to the screen only for an open line. Other bytes (escape
//! sequences, tabs) are kept and written as they are. So a shell's
//! `\b \b` erases a character on the screen and in the line kept in the
//! history. The screen gets the bytes as written; the history keeps each
//! line as text (invalid UTF-8 replaced).
//!
//! Buffers: a client's unfinished line is kept up to [`MAX_LINE`] bytes,
//! then ended as a line of its own (marked with a trailing `\`); the
//! history keeps the last [`HISTORY_LINES`] lines per client (older ones
//! leave the history, never the screen); input waiting for a client is
//! capped at [`MAX_INPUT`] bytes, beyond which typed bytes are refused with
//! a bell. Output is never dropped: a writer's call returns only once its
//! bytes are on the line, so a fast writer waits.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
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
const BACKSPACE: u8 = 0x08;
const DEL: u8 = 0x7f;
const PROMPT: &str = "cons> ";

/// One client.
pub struct Client {
    pub tag: String,
    /// ANSI colour code ("31" for red), empty for none.
    pub colour: String,
    pub key: Option<u8>,
    pub shown: bool,
    /// The unfinished line (`\r` and DEL left out, backspaces applied).
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

/// The line open on the screen (written without its `\r\n` yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    None,
    /// Client `n`'s unfinished line; `n` has the focus.
    Client(usize),
    /// The `cons>` prompt and what was typed at it.
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
    open: Open,
}

/// Something the caller must do after input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the terminal.
    Echo(Vec<u8>),
    /// Client `n` has new input.
    Input(usize),
}

impl Mux {
    pub fn new(show_all: bool) -> Self {
        Mux {
            clients: Vec::new(),
            show_all,
            focus: None,
            mode: Mode::Normal,
            line: String::new(),
            open: Open::None,
        }
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

    /// What starts a line of client `n` on the terminal: colour, tag, `| `.
    fn prefix(&self, n: usize) -> String {
        let c = &self.clients[n];
        let tag = &c.tag;
        if c.colour.is_empty() {
            format!("{tag:<TAG_WIDTH$}| ")
        } else {
            format!("\x1b[{}m{tag:<TAG_WIDTH$}| ", c.colour)
        }
    }

    /// What ends a line of client `n` on the terminal.
    fn line_end(&self, n: usize) -> &'static str {
        if self.clients[n].colour.is_empty() { "\r\n" } else { "\x1b[0m\r\n" }
    }

    /// A finished line of client `n` as the terminal gets it.
    pub fn format_line(&self, n: usize, line: &str) -> String {
        format!("{}{line}{}", self.prefix(n), self.line_end(n))
    }

    /// Whether client `n`'s finished lines go to the screen.
    fn visible(&self, n: usize) -> bool {
        self.clients[n].shown && (self.show_all || self.focus == Some(n))
    }

    /// Whether client `n`'s output goes to the screen as it arrives.
    fn live(&self, n: usize) -> bool {
        self.focus == Some(n) && self.clients[n].shown && self.mode != Mode::Prompt
    }

    /// Ends the line open on the screen, if any.
    fn close(&mut self, scr: &mut Vec<u8>) {
        match core::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Client(n) => scr.extend_from_slice(self.line_end(n).as_bytes()),
            Open::Prompt => scr.extend_from_slice(b"\r\n"),
        }
    }

    /// Opens client `n`'s line on the screen (prefix and its bytes so far)
    /// unless it is open already.
    fn open_line(&mut self, n: usize, scr: &mut Vec<u8>) {
        if self.open == Open::Client(n) {
            return;
        }
        self.close(scr);
        scr.extend_from_slice(self.prefix(n).as_bytes());
        scr.extend_from_slice(&self.clients[n].partial);
        self.open = Open::Client(n);
    }

    /// With nothing open on the screen, writes again what belongs last on
    /// it: the prompt, or the focused client's unfinished line.
    fn reopen(&mut self, scr: &mut Vec<u8>) {
        if self.open != Open::None {
            return;
        }
        if self.mode == Mode::Prompt {
            scr.extend_from_slice(PROMPT.as_bytes());
            scr.extend_from_slice(self.line.as_bytes());
            self.open = Open::Prompt;
        } else if let Some(n) = self.focus
            && self.live(n)
            && !self.clients[n].partial.is_empty()
        {
            self.open_line(n, scr);
        }
    }

    /// Ends client `n`'s line: into the history, and to the screen (ending
    /// it there if it is open, else whole if `n` is visible).
    fn finish_line(&mut self, n: usize, cut: bool, scr: &mut Vec<u8>) {
        let c = &mut self.clients[n];
        let bytes = core::mem::take(&mut c.partial);
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if cut {
            line.push('\\');
        }
        if self.open == Open::Client(n) {
            if cut {
                scr.push(b'\\');
            }
            self.close(scr);
        } else if self.visible(n) {
            self.close(scr);
            scr.extend_from_slice(self.format_line(n, &line).as_bytes());
            self.reopen(scr);
        }
        let c = &mut self.clients[n];
        if c.history.len() == HISTORY_LINES {
            c.history.pop_front();
        }
        c.history.push_back(line);
    }

    /// One byte of client `n`'s output.
    fn put(&mut self, n: usize, b: u8, scr: &mut Vec<u8>) {
        match b {
            b'\n' => self.finish_line(n, false, scr),
            b'\r' => {}
            BACKSPACE => {
                if self.clients[n].partial.is_empty() {
                    return;
                }
                if self.live(n) {
                    self.open_line(n, scr);
                    scr.push(b);
                }
                pop_char(&mut self.clients[n].partial);
            }
            DEL => {
                if self.open == Open::Client(n) {
                    scr.push(b);
                }
            }
            _ => {
                if self.live(n) {
                    self.open_line(n, scr);
                    scr.push(b);
                }
                self.clients[n].partial.push(b);
                if self.clients[n].partial.len() >= MAX_LINE {
                    self.finish_line(n, true, scr);
                }
            }
        }
    }

    /// Client `n` wrote `bytes`: what the terminal must show goes to `out`
    /// (the focused client's bytes at once, another client's lines whole).
    pub fn write(&mut self, n: usize, bytes: &[u8], out: &mut dyn FnMut(&[u8])) {
        let mut scr = Vec::new();
        for &b in bytes {
            self.put(n, b, &mut scr);
        }
        if !scr.is_empty() {
            out(&scr);
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
            return echo(b"\x07");
        };
        let c = &mut self.clients[n];
        if c.input.len() >= MAX_INPUT {
            return echo(b"\x07");
        }
        c.input.push_back(b);
        alloc::vec![Action::Input(n)]
    }

    /// Writes a message of cons: the open line is ended first; after the
    /// message comes what belongs last on the screen now (the prompt, or
    /// the focused client's unfinished line).
    fn message(&mut self, text: &str) -> Vec<Action> {
        let mut scr = Vec::new();
        self.close(&mut scr);
        scr.extend_from_slice(text.as_bytes());
        self.reopen(&mut scr);
        echo(&scr)
    }

    fn escape(&mut self, b: u8) -> Vec<Action> {
        if b == ESCAPE {
            return self.deliver(b);
        }
        if b == b'.' {
            self.mode = Mode::Prompt;
            self.line.clear();
            return self.message("\r\n");
        }
        match self.clients.iter().position(|c| c.key == Some(b)) {
            Some(n) => {
                self.focus = Some(n);
                let t = &self.clients[n].tag;
                self.message(&format!("\r\n[cons: input goes to {t}]\r\n"))
            }
            None => self.message(&format!(
                "\r\n[cons: no client has key '{}'; Ctrl-E . then help]\r\n",
                b as char
            )),
        }
    }

    fn prompt_key(&mut self, b: u8) -> Vec<Action> {
        match b {
            b'\r' | b'\n' => {
                self.mode = Mode::Normal;
                let line = core::mem::take(&mut self.line);
                let text = self.command(line.trim());
                // Ends the prompt's line, then the answer.
                self.message(&text)
            }
            DEL | BACKSPACE => {
                if self.line.pop().is_some() {
                    echo(b"\x08 \x08")
                } else {
                    Vec::new()
                }
            }
            0x20..DEL => {
                self.line.push(b as char);
                echo(&[b])
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

/// Removes the last character (a UTF-8 sequence, or one stray byte) of `v`.
fn pop_char(v: &mut Vec<u8>) {
    for _ in 0..4 {
        match v.pop() {
            Some(b) if b & 0xc0 == 0x80 => {}
            _ => return,
        }
    }
}

fn echo(bytes: &[u8]) -> Vec<Action> {
    alloc::vec![Action::Echo(bytes.to_vec())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_bytes(m: &mut Mux, n: usize, bytes: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        m.write(n, bytes, &mut |t| s.extend_from_slice(t));
        s
    }

    fn collect(m: &mut Mux, n: usize, bytes: &[u8]) -> String {
        String::from_utf8(collect_bytes(m, n, bytes)).unwrap()
    }

    /// What typing `keys` writes to the terminal.
    fn type_keys(m: &mut Mux, keys: &[u8]) -> String {
        let mut s = Vec::new();
        for &k in keys {
            for a in m.key(k) {
                if let Action::Echo(e) = a {
                    s.extend_from_slice(&e);
                }
            }
        }
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn lines_come_out_whole_with_tag_and_colour() {
        let mut m = Mux::new(true);
        m.create("me", ""); // has the focus: io and vm1 are line-buffered
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
        let d = m.create("d", "");
        assert_eq!(m.clients[c].tag, "averylon");
        let long = alloc::vec![b'x'; MAX_LINE + 10];
        // Unfocused: the full part as a line, the rest kept.
        let out = collect(&mut m, d, &long);
        assert_eq!(out.matches("\r\n").count(), 1);
        assert!(out.starts_with("d       | xxx") && out.ends_with("\\\r\n"));
        // Focused: the same line, then the rest shown as it comes.
        let out = collect(&mut m, c, &long);
        let x = "x".repeat(MAX_LINE);
        assert_eq!(out, format!("averylon| {x}\\\r\naverylon| xxxxxxxxxx"));
        assert_eq!(m.clients[c].history, [format!("{x}\\")]);
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
    fn focused_output_shows_at_once_and_a_newline_ends_the_line() {
        let mut m = Mux::new(false);
        let vm = m.create("vm1", "36");
        assert_eq!(collect(&mut m, vm, b"/ # "), "\x1b[36mvm1     | / # ");
        assert_eq!(collect(&mut m, vm, b"l"), "l");
        assert_eq!(collect(&mut m, vm, b"s"), "s");
        assert!(m.clients[vm].history.is_empty());
        assert_eq!(collect(&mut m, vm, b"\r\n"), "\x1b[0m\r\n");
        assert_eq!(m.clients[vm].history, ["/ # ls"]);
        // Pieces and a whole line look the same on the screen.
        let pieces = collect(&mut m, vm, b"bin") + &collect(&mut m, vm, b" etc\r\n");
        assert_eq!(pieces, m.format_line(vm, "bin etc"));
        assert_eq!(m.clients[vm].history, ["/ # ls", "bin etc"]);
        // Bytes of a character split between writes go out as they come.
        assert_eq!(collect_bytes(&mut m, vm, &[0xc3]), b"\x1b[36mvm1     | \xc3");
        assert_eq!(collect_bytes(&mut m, vm, &[0xa9, b'\n']), b"\xa9\x1b[0m\r\n");
        assert_eq!(m.clients[vm].history.back().map(String::as_str), Some("é"));
    }

    #[test]
    fn another_line_breaks_the_open_line_which_is_written_again() {
        let mut m = Mux::new(true);
        let vm = m.create("vm1", "36");
        let io = m.create("io", "31");
        assert_eq!(collect(&mut m, vm, b"/ # "), "\x1b[36mvm1     | / # ");
        // Unfocused: kept until its newline.
        assert_eq!(collect(&mut m, io, b"rea"), "");
        assert_eq!(
            collect(&mut m, io, b"dy\n"),
            "\x1b[0m\r\n\x1b[31mio      | ready\x1b[0m\r\n\x1b[36mvm1     | / # "
        );
        assert_eq!(collect(&mut m, vm, b"ls\n"), "ls\x1b[0m\r\n");
        assert_eq!(m.clients[vm].history, ["/ # ls"]);
        assert_eq!(m.clients[io].history, ["ready"]);
        // With nothing open, another line is written as it is.
        assert_eq!(collect(&mut m, io, b"done\n"), "\x1b[31mio      | done\x1b[0m\r\n");
    }

    #[test]
    fn messages_of_cons_break_the_open_line_too() {
        let mut m = Mux::new(true);
        let vm = m.create("vm1", "");
        let io = m.create("io", "");
        collect(&mut m, vm, b"/ # ");
        assert_eq!(
            type_keys(&mut m, b"\x05z"),
            "\r\n\r\n[cons: no client has key 'z'; Ctrl-E . then help]\r\nvm1     | / # "
        );
        // The prompt is the open line while it is there.
        assert_eq!(type_keys(&mut m, b"\x05.li"), "\r\n\r\ncons> li");
        assert_eq!(collect(&mut m, vm, b"x"), "");
        assert_eq!(collect(&mut m, io, b"up\n"), "\r\nio      | up\r\ncons> li");
        let list = m.command("list");
        assert_eq!(type_keys(&mut m, b"st\r"), format!("st\r\n{list}vm1     | / # x"));
        assert_eq!(collect(&mut m, vm, b"\n"), "\r\n");
        assert_eq!(m.clients[vm].history, ["/ # x"]);
        // A bell leaves the open line alone.
        assert_eq!(collect(&mut m, vm, b"$ "), "vm1     | $ ");
        for _ in 0..MAX_INPUT {
            m.key(b'k');
        }
        assert_eq!(type_keys(&mut m, b"k"), "\x07");
    }

    #[test]
    fn unfocused_partial_lines_stay_buffered() {
        for show_all in [false, true] {
            let mut m = Mux::new(show_all);
            let a = m.create("a", "");
            let b = m.create("b", "");
            assert_eq!(collect(&mut m, b, b"/ # "), "");
            assert_eq!(collect(&mut m, b, b"lx\x08"), "");
            let want = if show_all { "b       | / # l\r\n" } else { "" };
            assert_eq!(collect(&mut m, b, b"\n"), want);
            assert_eq!(m.clients[b].history, ["/ # l"]);
            assert!(m.clients[a].history.is_empty());
        }
    }

    #[test]
    fn a_focus_change_ends_the_open_line_and_keeps_its_bytes() {
        let mut m = Mux::new(true);
        let vm = m.create("vm1", "");
        let b = m.create("b", "");
        collect(&mut m, vm, b"/ # ");
        assert_eq!(type_keys(&mut m, b"\x052"), "\r\n\r\n[cons: input goes to b]\r\n");
        // Now vm1 is buffered: its bytes wait.
        assert_eq!(collect(&mut m, vm, b"l"), "");
        assert_eq!(collect(&mut m, b, b"$ "), "b       | $ ");
        // Back on vm1: b's line is ended, vm1's unfinished line shown again.
        assert_eq!(
            type_keys(&mut m, b"\x051"),
            "\r\n\r\n[cons: input goes to vm1]\r\nvm1     | / # l"
        );
        assert_eq!(collect(&mut m, vm, b"s\n"), "s\r\n");
        assert_eq!(m.clients[vm].history, ["/ # ls"]);
        assert!(m.clients[b].history.is_empty());
        // b's line, finished while unfocused, comes out whole.
        assert_eq!(collect(&mut m, b, b"exit\n"), "b       | $ exit\r\n");
        // A line finished while its client is unfocused comes out whole too.
        collect(&mut m, vm, b"/ # ");
        type_keys(&mut m, b"\x052");
        assert_eq!(collect(&mut m, vm, b"\n"), "vm1     | / # \r\n");
    }

    #[test]
    fn backspace_erases_on_the_screen_and_in_the_line() {
        let mut m = Mux::new(false);
        let vm = m.create("vm1", "");
        assert_eq!(collect(&mut m, vm, b"/ # lx"), "vm1     | / # lx");
        assert_eq!(collect(&mut m, vm, b"\x08 \x08"), "\x08 \x08");
        assert_eq!(m.clients[vm].partial, b"/ # l");
        assert_eq!(collect(&mut m, vm, b"s\r\n"), "s\r\n");
        assert_eq!(m.clients[vm].history, ["/ # ls"]);
        // At the start of a line there is nothing to erase: dropped.
        assert_eq!(collect(&mut m, vm, b"\x08"), "");
        assert_eq!(collect(&mut m, vm, b"a\x08\x08b\n"), "vm1     | a\x08b\r\n");
        assert_eq!(m.clients[vm].history.back().map(String::as_str), Some("b"));
        // DEL goes to the screen but not into the line.
        assert_eq!(collect(&mut m, vm, b"c\x7fd\n"), "vm1     | c\x7fd\r\n");
        assert_eq!(m.clients[vm].history.back().map(String::as_str), Some("cd"));
        // A backspace takes a whole character.
        collect(&mut m, vm, "é\x08x\n".as_bytes());
        assert_eq!(m.clients[vm].history.back().map(String::as_str), Some("x"));
        // Written again after a break, the line is as edited.
        let io = m.create("io", "");
        m.show_all = true;
        collect(&mut m, vm, b"abc\x08\x08");
        assert_eq!(collect(&mut m, io, b"hi\n"), "\r\nio      | hi\r\nvm1     | a");
    }

    #[test]
    fn a_hidden_focused_client_shows_nothing_until_shown() {
        let mut m = Mux::new(true);
        let vm = m.create("vm1", "");
        m.command("hide vm1");
        assert_eq!(collect(&mut m, vm, b"/ # "), "");
        assert_eq!(
            type_keys(&mut m, b"\x05.show vm1\r"),
            "\r\ncons> show vm1\r\nvm1 is shown\r\nvm1     | / # "
        );
        assert_eq!(collect(&mut m, vm, b"\n"), "\r\n");
        assert_eq!(m.clients[vm].history, ["/ # "]);
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
        assert!(type_keys(&mut m, b"\x05z").contains("no client has key 'z'"));
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
