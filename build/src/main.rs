//! `build`: the host tool behind `make`.
//!
//! It reads an L4Re-style modules.list, builds the bare-metal programs,
//! compiles device trees, packs one bootable ELF image per entry, runs it in
//! QEMU, fetches the Linux guest, runs the QEMU tests, and checks and draws
//! ned boot scripts. Every make target is one subcommand here; the help
//! text below is the documentation.

mod bench;
mod guest;
mod image;
mod modlist;
mod ned;
mod programs;
mod project;
mod qemu;
mod qemutest;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Build, inspect and boot images described by a modules.list.
#[derive(Parser)]
#[command(name = "build", version)]
struct Cli {
    /// The modules.list to read.
    #[arg(long, global = true, env = "MODULES_LIST", default_value = "ned-scripts/modules.list")]
    modules_list: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the boot image of an entry: writes target/images/<entry>.elf and
    /// prints its path as the last line.
    Image {
        /// The entry (as named by `entry` in the modules.list).
        entry: String,
    },
    /// Build an entry's image and boot it in QEMU; returns when the machine
    /// powers off. Without an entry, lists the entries.
    Qemu {
        entry: Option<String>,
        /// QEMU's options; the image is added with -kernel.
        #[arg(long, env = "QEMU_OPTIONS", default_value = qemu::DEFAULT_OPTIONS)]
        qemu_options: String,
    },
    /// List the entries of the modules.list, or one entry's modules with the
    /// files they resolve to and their sizes.
    List { entry: Option<String> },
    /// Check the modules.list without building: syntax, every module of every
    /// entry found, every device tree compiles.
    Check,
    /// List the modules of a built image, or extract them into a folder.
    Inspect {
        /// The image, e.g. target/images/hello.elf.
        image: PathBuf,
        /// Write each module (inflated as at boot) into this folder.
        #[arg(long)]
        extract: Option<PathBuf>,
    },
    /// Fetch the arm64 Linux guest (Debian's kernel package and busybox) and
    /// build Image.gz and the busybox ramdisk under target/guest; reuses them
    /// when present.
    Guest {
        /// Fetch and build again even when present.
        #[arg(long)]
        force: bool,
    },
    /// Run the benchmarks under QEMU with `-icount shift=0`: the kernel's
    /// (the `bench` entry; a table of instruction counts beside seL4's), then
    /// the guest's boot (the `uvmm-io` guest in its VM against the same guest
    /// booted directly, in QEMU virtual time); each writes its JSON.
    Bench {
        /// Which benchmarks: `kernel`, `guest`, or both (default).
        #[arg(value_enum)]
        only: Option<BenchSet>,
        /// QEMU's options; `-icount shift=0` is added.
        #[arg(long, env = "QEMU_OPTIONS", default_value = qemu::DEFAULT_OPTIONS)]
        qemu_options: String,
        /// Where to write the kernel's JSON (default target/bench/kernel.json).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Where to write the guest's JSON (default target/bench/guest.json).
        #[arg(long)]
        guest_json: Option<PathBuf>,
        /// Boot the guest directly only (the baseline), not in the VM.
        #[arg(long)]
        baseline_only: bool,
    },
    /// Run the QEMU tests (all, or those named) and print their counts.
    Test {
        /// Only these tests.
        names: Vec<String>,
        /// List the tests instead of running them.
        #[arg(long)]
        list: bool,
    },
    /// Check or draw ned boot scripts on the host, against a model of the
    /// loader; nothing is built or booted.
    Ned {
        #[command(subcommand)]
        cmd: NedCmd,
    },
}

/// A set of benchmarks.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchSet {
    Kernel,
    Guest,
}

#[derive(Subcommand)]
enum NedCmd {
    /// Check boot scripts: syntax and type errors, programs missing from
    /// rom/, and warnings for channels nobody serves or calls, caps a
    /// program never looks up (read from its built ELF file) and caps left
    /// without rights. Prints each as file:line:col with the source line,
    /// then `FILE: N errors, M warnings`; fails if a script has an error.
    Check {
        /// The scripts, e.g. ned-scripts/test-channel.ned.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The modules.list entry whose rom/ the scripts see (default: the
        /// first entry that lists the script; none: rom/ is not checked).
        #[arg(long)]
        entry: Option<String>,
    },
    /// Write a script's component graph (programs, channels, caps with
    /// their rights, logs) as Graphviz DOT, and as SVG when `dot` is
    /// installed; prints the paths written.
    Graph {
        /// The script, e.g. ned-scripts/test-channel.ned.
        file: PathBuf,
        /// The DOT file to write (default target/ned/<script name>.dot); the
        /// SVG goes beside it.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The modules.list entry whose rom/ the script sees (default: the
        /// first entry that lists the script).
        #[arg(long)]
        entry: Option<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let project = project::Project::open(&cli.modules_list)?;
    match cli.cmd {
        Cmd::Image { entry } => {
            let built = project.image(&entry)?;
            println!("{}", built.path.display());
        }
        Cmd::Qemu { entry: None, .. } => {
            project.print_entries()?;
            eprintln!("\nchoose one: make E=<entry> qemu");
            std::process::exit(2);
        }
        Cmd::Qemu { entry: Some(entry), qemu_options } => {
            let built = project.image(&entry)?;
            let status = qemu::run_interactive(&built.path, &qemu_options)?;
            if !status.success() {
                anyhow::bail!("QEMU exited with {status}");
            }
        }
        Cmd::List { entry: None } => project.print_entries()?,
        Cmd::List { entry: Some(entry) } => project.print_entry(&entry)?,
        Cmd::Check => project.check()?,
        Cmd::Inspect { image, extract } => image::inspect(&image, extract.as_deref())?,
        Cmd::Guest { force } => {
            let g = guest::fetch(&project.guest_dir(), force)?;
            println!("{}\n{}", g.image_gz.display(), g.ramdisk.display());
        }
        Cmd::Test { names, list } => qemutest::run(&project, &names, list)?,
        Cmd::Bench { only, qemu_options, json, guest_json, baseline_only } => {
            if only != Some(BenchSet::Guest) {
                bench::run(&project, &qemu_options, json)?;
            }
            if only != Some(BenchSet::Kernel) {
                bench::guest::run(&project, &qemu_options, guest_json, baseline_only)?;
            }
        }
        Cmd::Ned { cmd: NedCmd::Check { files, entry } } => {
            ned::check(&project, &files, entry.as_deref())?
        }
        Cmd::Ned { cmd: NedCmd::Graph { file, output, entry } } => {
            ned::graph(&project, &file, output.as_deref(), entry.as_deref())?
        }
    }
    Ok(())
}
