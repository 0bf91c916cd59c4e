//! Running images in QEMU: interactively for `make qemu`, and as a driven
//! session for tests (read the serial output, wait for text, type input,
//! wait for power-off), always with a time limit.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// QEMU's options when `QEMU_OPTIONS` is not set.
pub const DEFAULT_OPTIONS: &str = "-M virt,virtualization=true -cpu cortex-a72 -m 1024 -nographic";
const QEMU: &str = "qemu-system-aarch64";

fn command(image: &Path, options: &str) -> Result<Command> {
    let words = shell_words::split(options)
        .with_context(|| format!("QEMU_OPTIONS is not valid shell words: {options}"))?;
    let mut cmd = Command::new(QEMU);
    cmd.args(words).arg("-kernel").arg(image);
    Ok(cmd)
}

fn spawn_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "{QEMU} not found: install it with `make setup` (Debian package qemu-system-arm)"
        )
    } else {
        anyhow::anyhow!("starting {QEMU}: {e}")
    }
}

/// Boots `image` with the terminal attached; returns QEMU's exit status once
/// the machine powers off (or the user quits QEMU).
pub fn run_interactive(image: &Path, options: &str) -> Result<ExitStatus> {
    let mut cmd = command(image, options)?;
    eprintln!("running: {cmd:?}");
    cmd.status().map_err(spawn_error)
}

/// A QEMU run whose serial console a test reads and types into.
pub struct Session {
    child: Child,
    #[cfg_attr(not(test), allow(dead_code))]
    stdin: Option<ChildStdin>,
    out: Arc<(Mutex<Vec<u8>>, Condvar)>,
    /// How much of the output earlier `expect` calls consumed.
    seen: usize,
    started: Instant,
}

impl Session {
    /// Starts QEMU on `image` with `options` (which must route the serial
    /// port to stdio, as `-nographic` does) and starts collecting output.
    pub fn start(image: &Path, options: &str) -> Result<Session> {
        Session::spawn(command(image, options)?)
    }

    /// Starts `cmd` with its standard streams connected to the session.
    pub fn spawn(mut cmd: Command) -> Result<Session> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let out = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = out.clone();
            std::thread::spawn(move || pump(stream, &out));
        }
        let stdin = child.stdin.take();
        Ok(Session { child, stdin, out, seen: 0, started: Instant::now() })
    }

    /// Everything printed so far, lossily decoded.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.0.lock().unwrap()).into_owned()
    }

    /// Time since QEMU started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until `text` appears after what earlier calls consumed; returns
    /// the output up to and including it.
    pub fn expect(&mut self, text: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.out;
        let mut buf = lock.lock().unwrap();
        loop {
            let hay = &buf[self.seen..];
            if let Some(pos) = find(hay, text.as_bytes()) {
                let end = self.seen + pos + text.len();
                let got = String::from_utf8_lossy(&buf[self.seen..end]).into_owned();
                self.seen = end;
                return Ok(got);
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("timed out after {timeout:?} waiting for {text:?}");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The pumps may still be draining; give them a moment.
                drop(buf);
                std::thread::sleep(Duration::from_millis(50));
                buf = lock.lock().unwrap();
                if find(&buf[self.seen..], text.as_bytes()).is_none() {
                    bail!("QEMU exited ({status}) before printing {text:?}");
                }
                continue;
            }
            buf = cv.wait_timeout(buf, (deadline - now).min(Duration::from_millis(100))).unwrap().0;
        }
    }

    /// Types `text` into the serial console.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn send(&mut self, text: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("QEMU's input is closed")?;
        stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()).context("typing into QEMU")
    }

    /// QEMU's exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for QEMU to exit by itself; kills it when `timeout` passes.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                std::thread::sleep(Duration::from_millis(50));
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("QEMU did not exit within {timeout:?}; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn pump(mut from: Box<dyn Read + Send>, to: &(Mutex<Vec<u8>>, Condvar)) {
    let mut chunk = [0u8; 4096];
    while let Ok(n) = from.read(&mut chunk) {
        if n == 0 {
            break;
        }
        to.0.lock().unwrap().extend_from_slice(&chunk[..n]);
        to.1.notify_all();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_text() {
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
        assert_eq!(find(b"abc", b"x"), None);
        assert_eq!(find(b"", b""), Some(0));
    }

    #[test]
    fn session_types_and_reads() {
        let mut s = Session::spawn(Command::new("cat")).unwrap();
        s.send("ping one\n").unwrap();
        assert_eq!(s.expect("one", Duration::from_secs(5)).unwrap(), "ping one");
        s.send("two\n").unwrap();
        assert!(s.expect("ping", Duration::from_millis(300)).is_err());
        s.expect("two", Duration::from_secs(5)).unwrap();
        drop(s.stdin.take());
        assert!(s.wait_exit(Duration::from_secs(5)).unwrap().success());
        assert!(s.output().contains("ping one\ntwo"));
    }

    #[test]
    fn bad_options_are_reported() {
        let e = command(Path::new("x.elf"), "-M 'virt").unwrap_err();
        assert!(e.to_string().contains("QEMU_OPTIONS"));
    }
}
