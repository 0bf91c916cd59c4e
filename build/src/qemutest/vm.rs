//! QEMU tests of the pass-through scenario, L4Re's tutorial "Hardware
//! pass-through to the VM": boot an entry whose script starts cons, io and
//! Linux VMs, drive each guest's shell through cons (its lines arrive
//! tagged `vm1     | `, Ctrl-E and the client's key focus its input) and
//! check its answers against the host: `date` against the host clock, and
//! `dmesg | grep rtc` for the PL031.
//!
//! The same guest also boots directly on QEMU, without our system, from the
//! files and options the entry's script gives its vmm ([`VmSetup`]): the
//! `vm.direct_*` tests check the device trees of `dts/` and the ramdisk
//! that way, and `make bench` uses it as its baseline.
//!
//! What the guest prints (Debian's 6.1 kernel, busybox; see `guest.rs`):
//!
//! ```text
//! [    0.537832] rtc-pl031 9010000.pl031: registered as rtc0
//! [    0.538579] rtc-pl031 9010000.pl031: setting system clock to 2026-11-26T22:41:04 UTC (1795732864)
//! guest: counter at 62500000 Hz: /init 84289230, date 88018614: Thu Nov 26 22:49:57 UTC 2026
//! guest: Linux 6.1.0-56-arm64 is up; leave the shell to power off
//! ~ # date
//! Thu Nov 26 22:41:05 UTC 2026
//! ```
//!
//! Without a PL031 `date` says `Thu Jan  1 00:00:01 UTC 1970` and the
//! kernel prints no rtc line at all (since Linux 5.x its hctosys runs when
//! an RTC registers; the tutorial's `hctosys: unable to open rtc device
//! (rtc0)` comes from older kernels, and is accepted too).

use anyhow::{Context, Result, bail, ensure};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::ned::plain;
use crate::guest;
use crate::project::{Built, Project};
use crate::qemu::Session;

/// How long a guest may take to boot to its shell once its vmm runs (QEMU
/// TCG on a loaded machine; about 2 s booted directly on an idle one).
pub(crate) const GUEST_BOOT: Duration = Duration::from_secs(120);
/// How long the system may take to start its programs before the guests.
const SYSTEM_BOOT: Duration = Duration::from_secs(60);
/// How long a shell command may take.
const COMMAND: Duration = Duration::from_secs(30);
/// How far the guest's clock may be from the host's, in seconds.
const CLOCK_SLACK: u64 = 5;
/// The guest shell's prompt, without its trailing space (busybox ash in
/// /root: `~ # `).
pub(crate) const PROMPT: &str = "~ #";
/// What the kernel prints when the PL031 registers.
const RTC_REGISTERED: &str = "rtc-pl031 9010000.pl031: registered as rtc0";
/// What it prints when it sets the clock from it.
const RTC_SET: &str = "rtc-pl031 9010000.pl031: setting system clock to ";
/// What older kernels print when there is no RTC.
const NO_RTC: &str = "hctosys: unable to open rtc device (rtc0)";

/// One guest's console in the serial output: the lines of one cons client
/// (`vm1     | ...`), or every line when the guest owns the serial port.
pub(crate) struct Guest {
    /// The start of each of its lines: the cons tag, padded; empty for a
    /// guest booted directly.
    prefix: String,
    /// cons's key for its input (Ctrl-E, then the key), if on cons.
    key: Option<char>,
    /// Its name in messages.
    name: String,
    /// How far into the plain output (without colours) its lines were read.
    seen: usize,
}

impl Guest {
    /// A guest booted directly: every line of the serial output is its own.
    pub(crate) fn direct() -> Guest {
        Guest { prefix: String::new(), key: None, name: "the guest".into(), seen: 0 }
    }

    /// The cons client tagged `tag`, focused with Ctrl-E `key` (cons gives
    /// keys 1-9, then a-z, in the order its clients were created).
    pub(crate) fn on_cons(tag: &str, key: Option<char>) -> Guest {
        Guest { prefix: format!("{tag:<8}| "), key, name: tag.into(), seen: 0 }
    }

    /// Waits for the next whole line of this guest for which `want` gives
    /// a value (earlier lines are passed over); consumes through it.
    pub(crate) fn line<T>(
        &mut self,
        s: &mut Session,
        limit: Duration,
        what: &str,
        want: impl Fn(&str) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + limit;
        loop {
            let out = plain(&s.output());
            let complete = out.rfind('\n').map_or(0, |i| i + 1);
            let mut at = self.seen.min(complete);
            while let Some(len) = out[at..complete].find('\n') {
                let line = out[at..at + len].trim_end_matches('\r');
                at += len + 1;
                if let Some(v) = line.strip_prefix(self.prefix.as_str()).and_then(&want) {
                    self.seen = at;
                    return Ok(v);
                }
            }
            if let Some(status) = s.exited() {
                bail!("QEMU exited ({status}) while waiting for {what} from {}", self.name);
            }
            if Instant::now() >= deadline {
                bail!("timed out after {limit:?} waiting for {what} from {}", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for a line of this guest containing `text`; returns it.
    pub(crate) fn line_with(
        &mut self,
        s: &mut Session,
        limit: Duration,
        text: &str,
    ) -> Result<String> {
        self.line(s, limit, &format!("`{text}`"), |l| l.contains(text).then(|| l.to_owned()))
    }

    /// Gives this guest the keyboard (Ctrl-E and its key), if it is on cons.
    pub(crate) fn focus(&mut self, s: &mut Session) -> Result<()> {
        let Some(key) = self.key else {
            return Ok(());
        };
        s.send(&format!("\x05{key}"))?;
        let echo = format!("[cons: input goes to {}]", self.name);
        let prefix = std::mem::take(&mut self.prefix);
        let got = self
            .line(s, COMMAND, &format!("`{echo}` from cons"), |l| (l.trim() == echo).then_some(()));
        self.prefix = prefix;
        got
    }

    /// Waits until the shell answers: types Enter until a line is just the
    /// prompt (the first Enter may come before the shell runs).
    pub(crate) fn wait_prompt(&mut self, s: &mut Session, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            s.send("\r")?;
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.min(Duration::from_secs(10));
            match self.line(s, wait, &format!("the prompt `{PROMPT} `"), |l| {
                (l.trim_end() == PROMPT).then_some(())
            }) {
                Ok(()) => return Ok(()),
                Err(e) if left <= wait => return Err(e),
                Err(_) => {}
            }
        }
    }

    /// Runs `cmd` in the shell; the lines it printed (and any kernel
    /// messages that came between). Markers the shell computes (`<42`,
    /// `42>`) delimit the output, so the echo of the typed line never
    /// counts as output. Keep `cmd` short: the shell wraps lines typed
    /// past 80 columns.
    pub(crate) fn run(&mut self, s: &mut Session, cmd: &str) -> Result<Vec<String>> {
        s.send(&format!("echo \"<$((6*7))\"; {cmd}; echo \"$((6*7))>\"\r"))?;
        let what = format!("the output of `{cmd}`");
        self.line(s, COMMAND, &what, |l| (l.trim_end() == "<42").then_some(()))?;
        let mut lines = Vec::new();
        loop {
            let l = self.line(s, COMMAND, &what, |l| Some(l.trim_end().to_owned()))?;
            if l == "42>" {
                return Ok(lines);
            }
            lines.push(l);
        }
    }

    /// `date +%s` in the guest: seconds since the epoch.
    pub(crate) fn seconds(&mut self, s: &mut Session) -> Result<u64> {
        let out = self.run(s, "date +%s")?;
        out.iter()
            .find_map(|l| l.trim().parse().ok())
            .with_context(|| format!("`date +%s` printed no number: {out:?}"))
    }

    /// `dmesg | grep rtc` in the guest.
    fn rtc_lines(&mut self, s: &mut Session) -> Result<Vec<String>> {
        self.run(s, "dmesg | grep rtc")
    }
}

/// The console with its colours removed, for error messages: the last
/// lines.
fn tail(s: &Session) -> String {
    let out = plain(&s.output());
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Adds the end of the console to an error.
fn with_console<T>(s: &Session, r: Result<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e:#}\n--- console (last lines) ---\n{}", tail(s)))
}

fn host_seconds() -> Result<u64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

/// The year of `secs` since the epoch (proleptic Gregorian, UTC).
fn year_of(secs: u64) -> u64 {
    let mut days = secs / 86_400;
    let mut year = 1970;
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let len = if leap { 366 } else { 365 };
        if days < len {
            return year;
        }
        days -= len;
        year += 1;
    }
}

/// The guest's clock is the host's: `date +%s` within [`CLOCK_SLACK`]
/// seconds, `date` in this year; its kernel set the clock from the PL031.
fn check_real_time(g: &mut Guest, s: &mut Session) -> Result<u64> {
    let guest = g.seconds(s)?;
    let host = host_seconds()?;
    ensure!(
        guest.abs_diff(host) <= CLOCK_SLACK,
        "{}'s clock says {guest}, the host's {host}: {} s apart",
        g.name,
        guest.abs_diff(host)
    );
    let date = g.run(s, "date")?;
    let year = year_of(host).to_string();
    ensure!(
        date.iter().any(|l| l.ends_with(&format!(" {year}"))),
        "{}'s `date` does not say {year}: {date:?}",
        g.name
    );
    let rtc = g.rtc_lines(s)?;
    for want in [RTC_REGISTERED, RTC_SET] {
        ensure!(
            rtc.iter().any(|l| l.contains(want)),
            "{}'s `dmesg | grep rtc` lacks `{want}`: {rtc:?}",
            g.name
        );
    }
    Ok(guest)
}

/// The guest has no RTC: `date` in 1970, no PL031 in its kernel's log.
fn check_1970(g: &mut Guest, s: &mut Session) -> Result<()> {
    let secs = g.seconds(s)?;
    ensure!(secs < 86_400, "{}'s clock says {secs}, not a time on 1 January 1970", g.name);
    let date = g.run(s, "date")?;
    ensure!(
        date.iter().any(|l| l.starts_with("Thu Jan  1 ") && l.ends_with(" UTC 1970")),
        "{}'s `date` is not in 1970: {date:?}",
        g.name
    );
    let rtc = g.rtc_lines(s)?;
    let stray: Vec<&String> =
        rtc.iter().filter(|l| l.contains("rtc") && !l.contains(NO_RTC)).collect();
    ensure!(stray.is_empty(), "{} has an RTC after all: {stray:?}", g.name);
    let class = g.run(s, "ls /sys/class/rtc")?;
    ensure!(class.iter().all(|l| l.trim().is_empty()), "{} has an RTC device: {class:?}", g.name);
    Ok(())
}

/// Waits for io's verbose dump (red, tagged `io`) with the vbusses `buses`
/// and the PL031 on `vm_hw`, and its ready line.
fn io_ready(s: &mut Session, buses: &[&str]) -> Result<()> {
    let mut io = Guest::on_cons("io", None);
    let mut want: Vec<String> = vec![
        "Io service".into(),
        "Verboseness level: 7".into(),
        "Loading: config 'rom/io.cfg'".into(),
    ];
    want.extend(buses.iter().map(|b| format!("Loading: config 'rom/{b}.vbus'")));
    want.extend(buses.iter().map(|b| format!("{b}: [Virtual_sbus]")));
    want.extend([
        "Real Hardware -----------------------------------".into(),
        "  rtc: hid=".into(),
        "      PL031: [Proxy_dev] on vbus vm_hw".into(),
        "Ready. Waiting for request.".into(),
    ]);
    for w in &want {
        io.line(s, SYSTEM_BOOT, &format!("`{w}`"), |l| (l == w).then_some(()))?;
    }
    ensure!(
        s.output().contains("\x1b[31mio      | Ready. Waiting for request."),
        "io's lines are not red"
    );
    Ok(())
}

/// Waits until the guest's `/init` has started its shell: its counter line
/// (with `date` as the guest saw it at boot) and its `is up` line.
fn guest_up(g: &mut Guest, s: &mut Session) -> Result<String> {
    let counter = g.line_with(s, SYSTEM_BOOT + GUEST_BOOT, guest::COUNTER_LINE)?;
    g.line_with(s, COMMAND, guest::UP_LINE)?;
    Ok(counter)
}

/// `vm.date_passthrough` (entry `uvmm-io`): io prints its dump and serves
/// vm_hw with the PL031; the guest boots to its shell; cons gives it the
/// keyboard (Ctrl-E 2: io is cons's first client, vm1 its second);
/// `date +%s` is the host's time within 5 s, `date` says this year, and
/// `dmesg | grep rtc` shows the PL031 registered as rtc0 and the clock set
/// from it.
pub fn date_passthrough(project: &Project) -> Result<()> {
    let Built { path, .. } = project.image("uvmm-io")?;
    let mut s = Session::start(&path, &super::options())?;
    let r = (|| {
        io_ready(&mut s, &["vm_hw"])?;
        let mut vm = Guest::on_cons("vm1", Some('2'));
        guest_up(&mut vm, &mut s)?;
        ensure!(
            s.output().contains("\x1b[37mvm1     | "),
            "vm1's lines are not white (vmm.lua's colour for VMs)"
        );
        vm.focus(&mut s)?;
        vm.wait_prompt(&mut s, COMMAND)?;
        let secs = check_real_time(&mut vm, &mut s)?;
        println!("vm: vm1's date through the passed-through PL031: {secs}");
        check_rtc_interrupt(&mut vm, &mut s)?;
        check_abort_injected(&mut vm, &mut s)
    })();
    with_console(&s, r)
}

/// The PL031's interrupt, passed through: an alarm two seconds ahead
/// fires in the guest (its count in /proc/interrupts goes up), which needs
/// io's IRQ delivered to the vmm, injected, completed by the guest and
/// acknowledged at io.
fn check_rtc_interrupt(vm: &mut Guest, s: &mut Session) -> Result<()> {
    let count = |vm: &mut Guest, s: &mut Session| -> Result<u64> {
        let out = vm.run(s, "grep rtc-pl031 /proc/interrupts")?;
        let line = out
            .iter()
            .find(|l| l.contains("rtc-pl031"))
            .with_context(|| format!("no rtc-pl031 line in /proc/interrupts: {out:?}"))?;
        line.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no count in {line:?}"))
    };
    let before = count(vm, s)?;
    vm.run(s, "echo +2 > /sys/class/rtc/rtc0/wakealarm; sleep 4")?;
    let after = count(vm, s)?;
    ensure!(after > before, "the RTC alarm did not interrupt the guest ({before} -> {after})");
    let out = vm.run(s, "cat /sys/class/rtc/rtc0/wakealarm")?;
    ensure!(
        out.iter().all(|l| l.trim().is_empty()),
        "the alarm is still set after it fired: {out:?}"
    );
    println!("vm: the PL031's alarm interrupt reached the guest ({before} -> {after})");
    Ok(())
}

/// Guest-physical memory nothing backs (0x0a000000: no RAM, no device in
/// the guest's tree), read from the guest's user space through /dev/mem:
/// the vmm's default fault mode injects an abort, the kernel sends the
/// reader SIGBUS, and the shell goes on.
fn check_abort_injected(vm: &mut Guest, s: &mut Session) -> Result<()> {
    let out = vm.run(s, "devmem 0x0a000000 32")?;
    ensure!(
        out.iter().any(|l| l.contains("Bus error")),
        "reading unbacked memory did not end in a bus error: {out:?}"
    );
    let out = vm.run(s, "echo still here")?;
    ensure!(out.iter().any(|l| l == "still here"), "the shell did not go on: {out:?}");
    println!("vm: an access to unbacked memory got an injected abort (Bus error)");
    Ok(())
}

/// `vm.date_1970` (entry `uvmm`): one VM with the base device tree and no
/// io: `date` shows 1970, and the kernel found no RTC; `reboot -f` boots
/// the guest again, `poweroff -f` ends it.
pub fn date_1970(project: &Project) -> Result<()> {
    let Built { path, .. } = project.image("uvmm")?;
    let mut s = Session::start(&path, &super::options())?;
    let r = (|| {
        let mut vm = Guest::on_cons("vm1", Some('1'));
        guest_up(&mut vm, &mut s)?;
        vm.focus(&mut s)?;
        vm.wait_prompt(&mut s, COMMAND)?;
        check_1970(&mut vm, &mut s)?;
        // `reboot -f` is PSCI SYSTEM_RESET: the vmm boots the guest again.
        s.send("reboot -f\r")?;
        vm.line_with(&mut s, COMMAND, "PSCI SYSTEM_RESET")?;
        guest_up(&mut vm, &mut s)?;
        vm.wait_prompt(&mut s, COMMAND)?;
        check_1970(&mut vm, &mut s)?;
        println!("vm: the guest rebooted (PSCI SYSTEM_RESET) and came up again");
        // `poweroff -f` is PSCI SYSTEM_OFF: the vmm says so and ends.
        s.send("poweroff -f\r")?;
        vm.line_with(&mut s, COMMAND, "the guest powered off (PSCI SYSTEM_OFF)")?;
        println!("vm: the guest powered off (PSCI SYSTEM_OFF)");
        Ok(())
    })();
    with_console(&s, r)
}

/// `vm.two_vms` (entry `uvmm-2vm`): both guests, whose device trees both
/// have the PL031, reach their shells; vm2's vmm, whose vbus (vm_other)
/// holds nothing, says that it disabled the pl031 node, vm1's does not;
/// vm1 (Ctrl-E 2) has the host's time, vm2 (Ctrl-E 3) 1970. A read of
/// unbacked guest memory gives 0 in vm1 (`-f ignore`) and halts vm2
/// (`-f halt`), while cons, io and vm1 go on.
pub fn two_vms(project: &Project) -> Result<()> {
    let Built { path, .. } = project.image("uvmm-2vm")?;
    let mut s = Session::start(&path, &super::options())?;
    let r = (|| {
        io_ready(&mut s, &["vm_hw", "vm_other"])?;
        let mut vm1 = Guest::on_cons("vm1", Some('2'));
        let mut vm2 = Guest::on_cons("vm2", Some('3'));
        guest_up(&mut vm1, &mut s)?;
        guest_up(&mut vm2, &mut s)?;
        let disabled = |l: &str| {
            let l = l.to_ascii_lowercase();
            (l.contains("pl031") && l.contains("disabled")).then(|| l.clone())
        };
        let mut early = Guest::on_cons("vm2", None);
        let said =
            early.line(&mut s, COMMAND, "a line saying the pl031 node is disabled", disabled)?;
        println!("vm: vm2's vmm: {said}");
        let out = plain(&s.output());
        let vm1_disabled =
            out.lines().find(|l| l.starts_with("vm1     | ") && disabled(l).is_some());
        ensure!(vm1_disabled.is_none(), "vm1's pl031 was disabled: {vm1_disabled:?}");
        vm1.focus(&mut s)?;
        vm1.wait_prompt(&mut s, COMMAND)?;
        let secs = check_real_time(&mut vm1, &mut s)?;
        vm2.focus(&mut s)?;
        vm2.wait_prompt(&mut s, COMMAND)?;
        check_1970(&mut vm2, &mut s)?;
        println!("vm: vm1's date {secs}; vm2's 1970");
        // vm1's fault mode is ignore: the read of unbacked memory gives 0.
        vm1.focus(&mut s)?;
        let out = vm1.run(&mut s, "devmem 0x0a000000 32")?;
        ensure!(
            out.iter().any(|l| l.trim() == "0x00000000"),
            "vm1 (-f ignore) did not read 0 from unbacked memory: {out:?}"
        );
        println!("vm: vm1 read 0 from unbacked memory (fault mode ignore)");
        vm2.focus(&mut s)?;
        // vm2's fault mode is halt: its vmm stops the VM and ends; cons,
        // io and vm1 go on.
        s.send("devmem 0x0a000000 32\r")?;
        let halted = vm2.line_with(&mut s, COMMAND, "halting the VM (fault mode halt)")?;
        println!("vm: {halted}");
        vm1.focus(&mut s)?;
        vm1.wait_prompt(&mut s, COMMAND)?;
        let again = check_real_time(&mut vm1, &mut s)?;
        println!("vm: vm1 still runs after vm2 halted: {again}");
        Ok(())
    })();
    with_console(&s, r)
}

/// What a VM of an entry boots, as the entry's boot script starts its vmm:
/// the host files of its kernel, device tree and ramdisk, its kernel
/// command line and its RAM.
#[derive(Clone, Debug)]
pub(crate) struct VmSetup {
    pub kernel: PathBuf,
    pub dtb: PathBuf,
    pub ramdisk: Option<PathBuf>,
    pub bootargs: String,
    pub mem_mib: u64,
}

impl VmSetup {
    /// The VM tagged `vm<id>` in the boot script of `entry`, read through
    /// the loader model (nothing is built; the guest is fetched if need be).
    pub(crate) fn of(project: &Project, entry: &str, id: u32) -> Result<VmSetup> {
        if !guest::present(&project.guest_dir()) {
            guest::fetch(&project.guest_dir(), false)?;
        }
        let (model, resolved) = crate::ned::model_of_entry(project, entry)?;
        let tag = format!("vm{id}");
        let task = model
            .tasks()
            .iter()
            .find(|t| {
                t.req.program == "vmm"
                    && matches!(&t.req.log, ::ned::LogSpec::Tagged { tag: t, .. } if *t == tag)
            })
            .with_context(|| format!("the script of entry `{entry}` starts no vmm tagged {tag}"))?;
        let file = |rom: &str| -> Result<PathBuf> {
            let name = rom.strip_prefix("rom/").unwrap_or(rom);
            resolved
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.path.clone())
                .with_context(|| format!("{tag}'s {rom} is not a module of entry `{entry}`"))
        };
        let args: Vec<&str> = program_env::split_args(&task.req.cmdline).collect();
        let opt = |flag: &str| args.iter().position(|a| *a == flag).and_then(|i| args.get(i + 1));
        let mem = task.req.caps.iter().find_map(|(n, c)| match c.obj {
            ::ned::Obj::Ram { bytes } if n == "ram" => Some(bytes >> 20),
            _ => None,
        });
        Ok(VmSetup {
            kernel: file(opt("-k").with_context(|| format!("{tag} has no -k"))?)?,
            dtb: file(opt("-d").with_context(|| format!("{tag} has no -d"))?)?,
            ramdisk: opt("-r").map(|r| file(r)).transpose()?,
            bootargs: opt("-c").map_or_else(String::new, |c| c.to_string()),
            mem_mib: mem.with_context(|| format!("{tag} has no `ram` cap"))?,
        })
    }

    /// QEMU booting this guest directly (no EL2: `-M virt`, so PSCI goes
    /// to QEMU through `hvc` as the device tree says), with the CPU model of
    /// `options` and the guest's RAM; `extra` options follow.
    pub(crate) fn direct_command(&self, options: &str, extra: &[&str]) -> Result<Command> {
        let words = shell_words::split(options).context("QEMU_OPTIONS is not valid shell words")?;
        let cpu = words
            .iter()
            .position(|w| w == "-cpu")
            .and_then(|i| words.get(i + 1))
            .map_or("cortex-a72", String::as_str);
        let mut cmd = Command::new("qemu-system-aarch64");
        cmd.args(["-M", "virt", "-cpu", cpu, "-nographic", "-m"])
            .arg(self.mem_mib.to_string())
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-dtb")
            .arg(&self.dtb)
            .arg("-append")
            .arg(&self.bootargs);
        if let Some(rd) = &self.ramdisk {
            cmd.arg("-initrd").arg(rd);
        }
        cmd.args(extra);
        Ok(cmd)
    }
}

/// Boots vm1 of `entry` directly on QEMU; its shell.
fn boot_direct(project: &Project, entry: &str) -> Result<(Session, Guest)> {
    let setup = VmSetup::of(project, entry, 1)?;
    let mut s = Session::spawn(setup.direct_command(&super::options(), &[])?)?;
    let mut g = Guest::direct();
    let r = (|| {
        guest_up(&mut g, &mut s)?;
        g.wait_prompt(&mut s, COMMAND)
    })();
    with_console(&s, r)?;
    Ok((s, g))
}

/// `vm.direct_pl031_tree`: the guest of `uvmm-io` (its kernel, ramdisk,
/// boot arguments and `dts/pl031.dts`) booted directly on QEMU, whose
/// PL031 the tree describes: `date` is the host's, dmesg shows rtc0.
pub fn direct_pl031_tree(project: &Project) -> Result<()> {
    let (mut s, mut g) = boot_direct(project, "uvmm-io")?;
    let r = check_real_time(&mut g, &mut s);
    with_console(&s, r).map(|_| ())
}

/// `vm.direct_base_tree`: the guest of `uvmm` (`dts/virt-arm_virt-64.dts`,
/// no PL031) booted directly on QEMU: `date` shows 1970.
pub fn direct_base_tree(project: &Project) -> Result<()> {
    let (mut s, mut g) = boot_direct(project, "uvmm")?;
    let r = check_1970(&mut g, &mut s);
    with_console(&s, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn years() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(86_400 * 365 - 1), 1970);
        assert_eq!(year_of(86_400 * 365), 1971);
        assert_eq!(year_of(951_782_400), 2000); // 2000-02-29
        assert_eq!(year_of(1_795_732_864), 2026);
    }

    /// A shell script playing two cons clients: io and a guest whose shell
    /// answers the markers, with colours and the prompt's terminal query.
    fn fake_console() -> Session {
        let script = r#"
printf '\033[31mio      | Ready. Waiting for request.\033[0m\r\n'
printf '\033[37mvm1     | guest: counter at 62500000 Hz: /init 1, date 2: x\033[0m\r\n'
printf '\033[37mvm1     | guest: Linux 6.1 is up; leave the shell to power off\033[0m\r\n'
read -r focus
printf '\r\n[cons: input goes to vm1]\r\n'
read -r line
printf '\033[37mvm1     | ~ # \033[6n\033[0m\r\n'
read -r line
printf '\033[37mvm1     | ~ # \033[6n%s\033[0m\r\n' "$line"
printf '\033[31mio      | <42\033[0m\r\n'
printf '\033[37mvm1     | <42\033[0m\r\n'
printf '\033[37mvm1     | 1795732864\033[0m\r\n'
printf '\033[37mvm1     | 42>\033[0m\r\n'
read -r line
"#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).stderr(Stdio::null());
        Session::spawn(cmd).unwrap()
    }

    #[test]
    fn reads_a_guest_through_cons() {
        let mut s = fake_console();
        let mut vm = Guest::on_cons("vm1", Some('2'));
        let limit = Duration::from_secs(10);
        let counter = guest_up(&mut vm, &mut s).unwrap();
        assert_eq!(counter, "guest: counter at 62500000 Hz: /init 1, date 2: x");
        // The fake shell reads lines: end the Ctrl-E with one.
        s.send("\x052\n").unwrap();
        let prefix = std::mem::take(&mut vm.prefix);
        vm.line(&mut s, limit, "focus", |l| (l == "[cons: input goes to vm1]").then_some(()))
            .unwrap();
        vm.prefix = prefix;
        s.send("\n").unwrap();
        vm.line(&mut s, limit, "prompt", |l| (l.trim_end() == PROMPT).then_some(())).unwrap();
        s.send("date +%s\n").unwrap();
        // Not `vm.seconds`, which types the markers itself: the fake shell
        // prints them whatever it is sent.
        vm.line(&mut s, limit, "start", |l| (l == "<42").then_some(())).unwrap();
        let secs = vm.line(&mut s, limit, "secs", |l| l.parse::<u64>().ok()).unwrap();
        assert_eq!(secs, 1_795_732_864);
        vm.line(&mut s, limit, "end", |l| (l == "42>").then_some(())).unwrap();
        let e = vm.line(&mut s, Duration::from_millis(300), "more", |_| Some(())).unwrap_err();
        assert!(e.to_string().contains("timed out"), "{e}");
        let mut io = Guest::on_cons("io", None);
        io.line_with(&mut s, limit, "Ready.").unwrap();
        s.send("\n").unwrap();
    }

    #[test]
    fn a_direct_guest_owns_every_line() {
        let mut cmd = Command::new("printf");
        cmd.arg("a\\r\\r\\n~ # \\033[6nb\\r\\r\\nc");
        let mut s = Session::spawn(cmd).unwrap();
        let mut g = Guest::direct();
        let limit = Duration::from_secs(5);
        assert_eq!(g.line_with(&mut s, limit, "a").unwrap(), "a");
        assert_eq!(g.line_with(&mut s, limit, "b").unwrap(), "~ # b");
        // `c` never ends its line.
        let e = g.line_with(&mut s, limit, "c").unwrap_err().to_string();
        assert!(e.contains("QEMU exited") || e.contains("timed out"), "{e}");
    }
}
