//! vmm: runs one Linux guest in a VCPU at EL1 (L4Re's uvmm).
//!
//! `rom/vmm -k rom/Image.gz -d rom/guest.dtb [-r rom/ramdisk] [-c "args"]
//! [-b 0x40000000] [-i] [-f inject|halt|ignore] [-D level] [-v] [-q]`
//!
//! Named caps (`vmm.start_vm` gives them): `ram` (an untyped: the guest's
//! RAM), `mem` (memory for the vmm's own objects), `asid_pool` (to give
//! the guest's address space an ASID), `gicv` (the GIC's virtual CPU
//! interface, mapped where the guest's device tree puts its CPU interface)
//! and, optionally, `vbus` (the devices the guest may use). The guest's
//! console is the vmm's log channel: cons shows it under the VM's tag and
//! sends it what is typed there.
//!
//! Every device tree node is decided for once, and the decision printed:
//! the GIC, the arch timer and the first PL011 are emulated; every other
//! node with `reg` or `interrupts` is passed through if the vbus holds a
//! device with each of its MMIO ranges and IRQs, and disabled otherwise,
//! naming the resource that is missing.

#![no_std]
#![no_main]

extern crate alloc;

mod input;
mod space;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use program_env::slot;
use sel4::{CapRights, MessageInfo, ObjectBlueprint, UserContext, VmAttributes, cap};
use sel4_runtime::{env, get_cap, println};
use sel4_sys::FaultLabel;
use sel4_sys::vcpu as vreg;
use vbus_api::{Vbus, res_type};
use vmm::args::{Config, FaultMode};
use vmm::dt::{Device, IrqKind, Tree};
use vmm::mmio::{Access, PC_SP_SPSR, regs_through};
use vmm::pl011::Pl011;
use vmm::psci::PsciAction;
use vmm::vgic::Distributor;

use crate::space::{GuestRam, Space, at, cap_at, own_cnode};

/// Badge of the guest thread's fault messages on the vmm's endpoint.
const FAULT_BADGE: u64 = 1 << 63;
/// Notification badges: typed input, then one bit per passed-through IRQ.
const INPUT_BIT: u64 = 1;
const FIRST_IRQ_BIT: u32 = 1;
/// Most IRQs passed through.
const MAX_PASSTHROUGH_IRQS: usize = 62;

/// Guest-physical window of the GIC's virtual CPU interface: two pages.
const GICV_PAGES: u64 = 2;
/// Lines of the emulated distributor.
const GIC_LINES: u32 = 256;
/// SPSR of the guest's first instruction: EL1h, DAIF masked.
const SPSR_EL1H: u64 = 0x3c5;
/// The virtual timer's INTID (PPI 11).
const VTIMER: u32 = sel4_sys::vcpu::VTIMER_IRQ;

fn fail(msg: &str) -> ! {
    println!("vmm: error: {msg}");
    sel4_runtime::exit(1)
}

/// A passed-through IRQ.
struct PassIrq {
    intid: u32,
    level: bool,
}

/// The running VM.
struct Vm {
    cfg: Config,
    /// Where guest faults and notification signals arrive.
    ep: cap::Endpoint,
    guest: cap::Tcb,
    vcpu: cap::Vcpu,
    ram: GuestRam,
    boot: Boot,
    dist: Distributor,
    gicd: (u64, u64),
    uart: Pl011,
    uart_at: (u64, u64),
    uart_irq: u32,
    vbus: Option<Vbus>,
    irqs: Vec<PassIrq>,
    /// Guest console output not yet written.
    out: Vec<u8>,
    /// Whether WFI traps now (only while output waits, see `flush_later`).
    wfi_traps: bool,
    /// Guest exits handled (reported when the VM stops, with -v).
    exits: u64,
}

fn main(_: sel4::Word) {
    let cfg = match vmm::args::parse(env::args()) {
        Ok(c) => c,
        Err(e) => fail(&format!("{e}")),
    };
    let mut vm = setup(cfg).unwrap_or_else(|e| fail(&e));
    vm.run()
}

/// A rom/ module's bytes.
fn rom(what: &str, name: &Option<String>) -> Result<Option<&'static [u8]>, String> {
    let Some(n) = name else { return Ok(None) };
    sel4_runtime::rom::open(n)
        .map(Some)
        .map_err(|e| format!("{what} `{n}`: cannot open it ({e:?})"))
}

fn setup(cfg: Config) -> Result<Vm, String> {
    let kernel = rom("kernel", &cfg.kernel)?.ok_or("no kernel (-k rom/Image)")?;
    let dtb = rom("device tree", &cfg.dtb)?.ok_or("no device tree (-d rom/x.dtb)")?;
    let initrd = rom("ramdisk", &cfg.ramdisk)?;
    let mut tree =
        Tree::parse(dtb).map_err(|e| format!("{}: {e}", cfg.dtb.as_deref().unwrap_or("")))?;

    let ram_entry = env::get("ram").ok_or("no `ram` cap (the guest's RAM: L4.Env.ram(bytes))")?;
    let ram_size = 1u64 << (ram_entry.arg & 0xff);
    let mem = get_cap!("mem").ok_or("no `mem` cap (memory for the vmm's own objects)")?;
    let pool: cap::AsidPool =
        get_cap!("asid_pool").ok_or("no `asid_pool` cap (L4.Env.asid_pool)")?;
    let gicv: Vec<u64> = (0..GICV_PAGES)
        .map(|i| env::get(&format!("gicv/{i}")).map(|e| e.slot))
        .collect::<Option<_>>()
        .ok_or(
            "no `gicv` caps (L4.Env.mmio(0x8040000, 0x10000): the GIC's virtual CPU interface)",
        )?;
    let vbus = get_cap!("vbus").map(|c: cap::Endpoint| Vbus::new(c));
    let mut sp = Space::new(mem);

    // The guest's address space.
    let gvs: cap::VSpace = cap_at(sp.make(ObjectBlueprint::VSpace)?);
    pool.asid_pool_assign(gvs).map_err(|e| format!("no ASID for the guest: {e:?}"))?;

    // Guest RAM: where the device tree's memory node says (or -b), or at
    // its own physical address with -i.
    let dt_base = tree.memory_base();
    let base =
        if cfg.identity { None } else { Some(cfg.rambase.or(dt_base).unwrap_or(0x4000_0000)) };
    let devices = tree.devices().map_err(|e| format!("device tree: {e}"))?;
    if let Some(b) = base {
        vmm::layout::check_ram_against_devices((b, b + ram_size), &devices)
            .map_err(|e| format!("{e}"))?;
    }
    let ram_ut: cap::Untyped = cap_at(ram_entry.slot);
    let mut ram = GuestRam::new(&mut sp, ram_ut, ram_size, base, gvs)?;
    if base.is_none() {
        vmm::layout::check_ram_against_devices((ram.base, ram.base + ram.size), &devices)
            .map_err(|e| format!("{e} (-i puts guest RAM at its physical address)"))?;
    }

    // The interrupt controller: distributor emulated, CPU interface = GICV.
    let gic = tree.gic().map_err(|e| format!("device tree: {e}"))?;
    for (i, &s) in gicv.iter().enumerate() {
        let f: cap::SmallPage = cap_at(s);
        sp.map(gvs, f, gic.cpu.0 + i as u64 * 4096, CapRights::read_write(), VmAttributes::NONE)?;
    }
    // GICv2 on QEMU's virt machine has 4 list registers (GICH_VTR); the
    // kernel refuses an index past the last with RangeError.
    let lrs = 4;
    let dist = Distributor::new(GIC_LINES, lrs);

    // Each node: emulated, passed through or disabled.
    let mut vm_uart = None;
    let mut irqs = Vec::new();
    let ntfn = sp.make(ObjectBlueprint::Notification)?;
    for d in &devices {
        if !d.enabled {
            continue;
        }
        let compat = |c: &str| d.compatible.iter().any(|x| x == c);
        if d.path == gic.path {
            report(
                &cfg,
                &d.path,
                "emulated: GICv2 distributor; the CPU interface is the GIC's virtual one",
            );
        } else if compat("arm,armv8-timer") || compat("arm,armv7-timer") {
            report(&cfg, &d.path, "emulated: arch timer (the virtual timer, through the VCPU)");
        } else if compat("arm,pl011") && vm_uart.is_none() && !d.regs.is_empty() {
            let irq = d.irqs.first().map_or(33, |i| i.intid);
            vm_uart = Some((d.regs[0], irq));
            report(&cfg, &d.path, "emulated: PL011, the guest's console (through cons)");
        } else if d.regs.is_empty() && d.irqs.is_empty() {
            continue;
        } else {
            match passthrough(&mut sp, d, vbus.as_ref(), gvs, ntfn, &mut irqs) {
                Ok(what) => report(&cfg, &d.path, &what),
                Err(why) => {
                    println!("vmm: {}: disabled: {why}", d.path);
                    tree.disable(&d.path).map_err(|e| format!("device tree: {e}"))?;
                }
            }
        }
    }
    let (uart_at, uart_irq) = vm_uart.unwrap_or(((0x900_0000, 0x1000), 33));

    // The guest's images in RAM, the device tree patched to match.
    let image = vmm::image::inspect(kernel).map_err(|e| format!("kernel: {e}"))?;
    let dtb_room = (dtb.len() as u64 + 4096 + cfg.cmdline.as_deref().map_or(0, |c| c.len() as u64))
        .next_multiple_of(8);
    let rd_len = initrd.map_or(0, |r| r.len() as u64);
    let place = vmm::layout::place(
        ram.base,
        ram.size,
        image.image_size,
        image.text_offset,
        dtb_room,
        rd_len,
    )
    .map_err(|e| format!("{e}"))?;
    tree.set_memory(ram.base, ram.size).map_err(|e| format!("device tree: {e}"))?;
    let initrd_range = initrd.map(|r| (place.initrd, place.initrd + r.len() as u64));
    tree.set_chosen(cfg.cmdline.as_deref(), initrd_range)
        .map_err(|e| format!("device tree: {e}"))?;
    let blob = tree.to_blob();
    if blob.len() as u64 > dtb_room {
        return Err(format!(
            "the patched device tree ({} bytes) does not fit its {dtb_room} bytes",
            blob.len()
        ));
    }
    let boot = Boot { kernel, initrd, blob, place };
    let loaded = boot.load(&mut ram)?;
    if cfg.verbose > 0 {
        println!(
            "vmm: RAM [{:#x}, {:#x}) ({} MiB){}; kernel at {:#x} ({} bytes{}), device tree at {:#x}{}",
            ram.base,
            ram.base + ram.size,
            ram.size >> 20,
            if cfg.identity { ", identity-mapped" } else { "" },
            place.kernel,
            loaded.image_size,
            if loaded.compressed { ", inflated" } else { "" },
            place.dtb,
            initrd_range.map_or(String::new(), |(s, e)| format!(", ramdisk [{s:#x}, {e:#x})")),
        );
    }

    // The fault endpoint, the notification bound to this thread, input.
    let ep_s = sp.make(ObjectBlueprint::Endpoint)?;
    let fault_ep = sp.slots(1)?;
    at(fault_ep)
        .mint(&at(ep_s), CapRights::all(), FAULT_BADGE)
        .map_err(|e| format!("minting the fault endpoint: {e:?}"))?;
    let me: cap::Tcb = cap_at(slot::TCB);
    me.tcb_bind_notification(cap_at(ntfn))
        .map_err(|e| format!("binding the notification: {e:?}"))?;
    let vcpu: cap::Vcpu = cap_at(sp.make(ObjectBlueprint::Vcpu)?);
    let guest: cap::Tcb = cap_at(sp.make(ObjectBlueprint::Tcb)?);
    let prio = highest_prio(guest, me);
    let input_ntfn = sp.slots(1)?;
    at(input_ntfn)
        .mint(&at(ntfn), CapRights::write_only(), INPUT_BIT)
        .map_err(|e| format!("minting: {e:?}"))?;
    input::start(&mut sp, input_ntfn, prio)?;

    // The VCPU's thread runs just below the vmm.
    guest
        .tcb_configure(
            sel4::CPtr::from_bits(fault_ep),
            own_cnode(),
            sel4::CNodeCapData::skip(64 - program_env::CNODE_BITS),
            gvs,
            0,
            cap_at(0),
        )
        .map_err(|e| format!("configuring the guest thread: {e:?}"))?;
    guest
        .tcb_set_priority(me, prio.saturating_sub(1))
        .map_err(|e| format!("the guest thread's priority: {e:?}"))?;
    vcpu.vcpu_set_tcb(guest).map_err(|e| format!("binding the VCPU: {e:?}"))?;
    vcpu.vcpu_write_regs(vreg::WFX_TRAPS, 0).map_err(|e| format!("VCPU: {e:?}"))?;
    let vm = Vm {
        cfg,
        ep: cap_at(ep_s),
        guest,
        vcpu,
        ram,
        boot,
        dist,
        gicd: gic.dist,
        uart: Pl011::new(),
        uart_at,
        uart_irq,
        vbus,
        irqs,
        out: Vec::new(),
        wfi_traps: false,
        exits: 0,
    };
    vm.start()?;
    Ok(vm)
}

/// What the guest boots, kept for a reset: the kernel and ramdisk (rom/
/// modules), the patched device tree, where each goes.
struct Boot {
    kernel: &'static [u8],
    initrd: Option<&'static [u8]>,
    blob: Vec<u8>,
    place: vmm::layout::Placement,
}

impl Boot {
    /// Writes the kernel, the ramdisk and the device tree into guest RAM
    /// and cleans it to memory (the guest starts with its caches off).
    fn load(&self, ram: &mut GuestRam) -> Result<vmm::image::Loaded, String> {
        let off = |a: u64| (a - ram.base) as usize;
        let (k, r, d) = (off(self.place.kernel), off(self.place.initrd), off(self.place.dtb));
        let loaded = vmm::image::load(self.kernel, &mut ram.bytes()[k..])
            .map_err(|e| format!("kernel: {e}"))?;
        if let Some(rd) = self.initrd {
            ram.bytes()[r..r + rd.len()].copy_from_slice(rd);
        }
        ram.bytes()[d..d + self.blob.len()].copy_from_slice(&self.blob);
        ram.clean(0, ram.size);
        Ok(loaded)
    }
}

/// The highest priority this program may give its threads (its own: the
/// kernel allows up to its TCB's maximum controlled priority), found by
/// setting `probe`'s, a thread not started yet.
fn highest_prio(probe: cap::Tcb, me: cap::Tcb) -> u64 {
    let (mut lo, mut hi) = (0u64, 254u64);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if probe.tcb_set_priority(me, mid).is_ok() { lo = mid } else { hi = mid - 1 }
    }
    lo
}

fn report(cfg: &Config, path: &str, what: &str) {
    if !cfg.quiet {
        println!("vmm: {path}: {what}");
    }
}

/// Passes node `d` through from the vbus: each MMIO range must lie in a
/// device's MMIO resource (mapped 1:1), each IRQ be one of its IRQs (bound
/// to the vmm's notification). Nothing is mapped or bound unless all are
/// there; the error names the first missing resource.
fn passthrough(
    sp: &mut Space,
    d: &Device,
    vbus: Option<&Vbus>,
    gvs: cap::VSpace,
    ntfn: u64,
    irqs: &mut Vec<PassIrq>,
) -> Result<String, String> {
    let Some(vbus) = vbus else {
        return Err(format!("{} and the VM has no vbus", first_resource(d)));
    };
    let mut nb = [0u8; 64];
    let bus = match vbus.name(&mut nb) {
        Ok(n) => format!("vbus `{n}`"),
        Err(_) => String::from("the vbus"),
    };
    let mut mmio: Vec<(u64, u64)> = Vec::new();
    let mut have_irqs: Vec<(u64, u64)> = Vec::new();
    for dev in vbus.devices() {
        let dev = dev.map_err(|e| format!("reading the vbus: {e:?}"))?;
        for r in vbus.resources(&dev) {
            let r = r.map_err(|e| format!("reading the vbus: {e:?}"))?;
            match r.kind {
                res_type::MMIO => mmio.push((r.start, r.end)),
                res_type::IRQ => have_irqs.push((r.start, r.flags)),
                _ => {}
            }
        }
    }
    for &(b, s) in &d.regs {
        if !mmio.iter().any(|&(start, end)| b >= start && b + s - 1 <= end) {
            return Err(format!("MMIO [{b:#x}, {:#x}) is on no device of {bus}", b + s));
        }
    }
    for i in &d.irqs {
        if i.kind == IrqKind::Ppi {
            return Err(format!(
                "IRQ {} is a per-CPU interrupt, which cannot be passed through",
                i.intid
            ));
        }
        if !have_irqs.iter().any(|&(n, _)| n == i.intid as u64) {
            return Err(format!("IRQ {} is on no device of {bus}", i.intid));
        }
    }
    let mut what = format!("passed through from {bus}:");
    for &(b, s) in &d.regs {
        let mut p = b & !0xfff;
        while p < b + s {
            let f = sp.slots(1)?;
            // io puts the page's frame cap into slot `f`.
            vbus.map_mmio_at(p, &at(f)).map_err(|e| format!("MMIO {p:#x}: {e:?}"))?;
            let fc: cap::SmallPage = cap_at(f);
            sp.map(gvs, fc, p, CapRights::read_write(), VmAttributes::NONE)?;
            p += 4096;
        }
        what += &format!(" MMIO [{b:#x}, {:#x}) mapped 1:1", b + s);
    }
    for i in &d.irqs {
        if irqs.len() >= MAX_PASSTHROUGH_IRQS {
            return Err(format!(
                "IRQ {}: more than {MAX_PASSTHROUGH_IRQS} IRQs passed through",
                i.intid
            ));
        }
        let bit = 1u64 << (FIRST_IRQ_BIT as usize + irqs.len());
        let s = sp.slots(1)?;
        at(s)
            .mint(&at(ntfn), CapRights::write_only(), bit)
            .map_err(|e| format!("minting: {e:?}"))?;
        vbus.icu_bind(i.intid as u64, cap_at(s))
            .map_err(|e| format!("IRQ {}: binding: {e:?}", i.intid))?;
        let level = matches!(i.trigger, vmm::dt::Trigger::LevelHigh | vmm::dt::Trigger::LevelLow);
        irqs.push(PassIrq { intid: i.intid, level });
        what += &format!(", IRQ {}{}", i.intid, if level { " (level)" } else { " (edge)" });
    }
    Ok(what)
}

fn first_resource(d: &Device) -> String {
    if let Some(&(b, s)) = d.regs.first() {
        format!("MMIO [{b:#x}, {:#x}) needs a vbus device", b + s)
    } else if let Some(i) = d.irqs.first() {
        format!("IRQ {} needs a vbus device", i.intid)
    } else {
        String::from("it needs a vbus device")
    }
}

/// What to do with the guest after an exit.
enum Resume {
    /// Reply: the guest continues.
    Yes,
    /// The guest stays stopped (powered off or halted).
    Stop,
    /// The guest was started anew: no reply (its registers are new).
    Reset,
}

impl Vm {
    /// Starts the guest at its kernel's entry, the device tree's address
    /// in x0, at EL1 with interrupts masked (Linux's boot protocol).
    fn start(&self) -> Result<(), String> {
        let mut regs = UserContext::default();
        *regs.pc_mut() = self.boot.place.kernel;
        *regs.spsr_mut() = SPSR_EL1H;
        *regs.gpr_mut(0) = self.boot.place.dtb;
        self.guest
            .tcb_write_all_registers(true, &regs)
            .map_err(|e| format!("starting the guest: {e:?}"))
    }

    /// PSCI SYSTEM_RESET: the guest's images loaded again, its VCPU, the
    /// distributor and the PL011 as new, and a fresh start.
    fn reset(&mut self) -> Result<(), String> {
        let _ = self.guest.tcb_suspend();
        self.boot.load(&mut self.ram)?;
        for r in 0..vreg::NUM_REGS as u64 {
            let v = match r {
                vreg::SCTLR => vreg::SCTLR_DEFAULT,
                vreg::VMPIDR_EL2 => vreg::VMPIDR_DEFAULT,
                vreg::ISR => continue,
                _ => 0,
            };
            self.vcpu.vcpu_write_regs(r, v).map_err(|e| format!("resetting the VCPU: {e:?}"))?;
        }
        self.wfi_traps = false;
        self.dist.reset();
        self.uart = Pl011::new();
        self.start()
    }

    fn run(&mut self) -> ! {
        let ep = self.ep;
        let (mut info, mut badge) = ep.recv(());
        loop {
            let replying = badge == FAULT_BADGE;
            let resume = if replying {
                self.fault(info)
            } else {
                self.signals(badge);
                Resume::Yes
            };
            self.inject();
            match (replying, resume) {
                (true, Resume::Yes) => {
                    (info, badge) = ep.reply_recv(MessageInfo::new(0, 0, 0, 0), ())
                }
                (true, Resume::Reset) => (info, badge) = ep.recv(()),
                (true, Resume::Stop) => {
                    self.flush();
                    if self.cfg.verbose > 0 {
                        println!("vmm: the VM stopped after {} exits", self.exits);
                    }
                    sel4_runtime::exit(0)
                }
                (false, _) => (info, badge) = ep.recv(()),
            }
        }
    }

    fn mr(i: usize) -> u64 {
        sel4::with_ipc_buffer(|b| b.msg_regs()[i])
    }

    /// A fault message of the guest thread.
    fn fault(&mut self, info: MessageInfo) -> Resume {
        self.exits += 1;
        let label = info.label();
        if label == FaultLabel::VmFault as u64 {
            let (addr, esr) = (Self::mr(1), Self::mr(3));
            self.stage2(addr, esr, Self::mr(2) != 0)
        } else if label == FaultLabel::VcpuFault as u64 {
            self.vcpu_fault(Self::mr(0))
        } else if label == FaultLabel::VgicMaintenance as u64 {
            let idx = Self::mr(0);
            if idx != sel4_sys::vcpu::MAINTENANCE_NO_INDEX
                && let Some(intid) = self.dist.complete(idx as usize)
            {
                self.completed(intid);
            }
            Resume::Yes
        } else if label == FaultLabel::VppiEvent as u64 {
            self.dist.pulse(VTIMER);
            Resume::Yes
        } else {
            println!("vmm: the guest thread faulted ({label}); stopping the VM");
            Resume::Stop
        }
    }

    /// The guest completed `intid`: its source may fire again.
    fn completed(&mut self, intid: u32) {
        if intid == VTIMER {
            let _ = self.vcpu.vcpu_ack_vppi(VTIMER as u64);
        } else if intid == self.uart_irq {
            self.dist.set_level(intid, self.uart.irq_level());
        } else if let Some(p) = self.irqs.iter().find(|p| p.intid == intid) {
            if p.level {
                self.dist.set_level(intid, false);
            }
            if let Some(v) = &self.vbus {
                let _ = v.icu_ack(intid as u64);
            }
        }
    }

    /// Notification bits: typed input, device IRQs.
    fn signals(&mut self, bits: u64) {
        if bits & INPUT_BIT != 0 {
            let mut buf = Vec::new();
            input::take(&mut buf);
            self.uart.push_input(&buf);
            self.dist.set_level(self.uart_irq, self.uart.irq_level());
        }
        for (k, p) in self.irqs.iter().enumerate() {
            if bits & (1 << (FIRST_IRQ_BIT as usize + k)) != 0 {
                if p.level {
                    self.dist.set_level(p.intid, true);
                } else {
                    self.dist.pulse(p.intid);
                }
            }
        }
    }

    /// Puts what the distributor wants delivered into free list registers.
    fn inject(&mut self) {
        while let Some(i) = self.dist.next_injection() {
            if let Err(e) =
                self.vcpu.vcpu_inject_irq(i.intid as u16, i.priority, i.group, i.lr as u8)
            {
                println!("vmm: injecting IRQ {}: {e:?}", i.intid);
                break;
            }
        }
    }

    /// A stage-2 fault: an emulated device's registers, or a touch of
    /// memory the guest has none at.
    fn stage2(&mut self, addr: u64, esr: u64, instruction: bool) -> Resume {
        let access = if instruction { None } else { vmm::mmio::decode(esr).ok() };
        let in_range = |r: (u64, u64)| addr >= r.0 && addr < r.0 + r.1;
        let Some(a) = access else {
            return self.bad_access(addr, esr, instruction, "an access the vmm cannot decode");
        };
        if in_range(self.gicd) {
            let off = addr - self.gicd.0;
            return self.emulate(a, |vm, write, v| {
                if write {
                    match vm.dist.write(off, a.size, v as u32) {
                        Ok(_) => 0,
                        Err(e) => {
                            vm.debug(&format!("GICD write {off:#x}: {e}"));
                            0
                        }
                    }
                } else {
                    vm.dist.read(off, a.size).unwrap_or(0) as u64
                }
            });
        }
        if in_range(self.uart_at) {
            let off = addr - self.uart_at.0;
            return self.emulate(a, |vm, write, v| {
                let r = if write {
                    if let Some(b) = vm.uart.write(off, v as u32) {
                        vm.output(b);
                    }
                    0
                } else {
                    vm.uart.read(off) as u64
                };
                let lvl = vm.uart.irq_level();
                vm.dist.set_level(vm.uart_irq, lvl);
                r
            });
        }
        self.bad_access(addr, esr, instruction, "no memory and no device there")
    }

    /// Emulates access `a`: `f(vm, write, value)` performs it and returns
    /// what a read yields; the guest's register and pc are updated.
    fn emulate(&mut self, a: Access, f: impl FnOnce(&mut Vm, bool, u64) -> u64) -> Resume {
        let mut regs = match self.guest.tcb_read_registers(false, regs_through(a.reg)) {
            Ok(r) => r,
            Err(e) => {
                println!("vmm: reading the guest's registers: {e:?}");
                return Resume::Stop;
            }
        };
        let rt = a.reg as usize;
        if a.write {
            let v = if rt == 31 { 0 } else { *regs.gpr(rt) };
            f(self, true, a.store_value(v));
        } else {
            let v = f(self, false, 0);
            if rt != 31 {
                *regs.gpr_mut(rt) = a.load_value(v);
            }
        }
        *regs.pc_mut() += 4;
        if let Err(e) = self.guest.tcb_write_registers(false, regs_through(a.reg), &regs) {
            println!("vmm: writing the guest's registers: {e:?}");
            return Resume::Stop;
        }
        Resume::Yes
    }

    /// The guest touched what is neither RAM nor an emulated or passed
    /// through device: the fault mode decides.
    fn bad_access(&mut self, addr: u64, esr: u64, instruction: bool, why: &str) -> Resume {
        let what = if instruction {
            "instruction fetch"
        } else if esr & (1 << 6) != 0 {
            "write"
        } else {
            "read"
        };
        match self.cfg.fault_mode {
            FaultMode::Halt => {
                println!("vmm: guest {what} at {addr:#x}: {why}; halting the VM (fault mode halt)");
                Resume::Stop
            }
            FaultMode::Ignore => {
                self.debug(&format!("guest {what} at {addr:#x} ignored: {why}"));
                if instruction {
                    println!(
                        "vmm: guest instruction fetch at {addr:#x}: {why}; cannot be ignored, halting"
                    );
                    return Resume::Stop;
                }
                match vmm::mmio::decode(esr) {
                    Ok(a) => self.emulate(a, |_, _, _| 0),
                    Err(_) => self.skip(),
                }
            }
            FaultMode::Inject => {
                self.debug(&format!("guest {what} at {addr:#x}: {why}; abort injected"));
                self.inject_abort(addr, instruction)
            }
        }
    }

    /// Advances the guest past the faulting instruction.
    fn skip(&mut self) -> Resume {
        match self.guest.tcb_read_registers(false, PC_SP_SPSR) {
            Ok(mut r) => {
                *r.pc_mut() += 4;
                let _ = self.guest.tcb_write_registers(false, PC_SP_SPSR, &r);
                Resume::Yes
            }
            Err(_) => Resume::Stop,
        }
    }

    /// A synchronous external abort taken to the guest's EL1 (as KVM's
    /// `kvm_inject_dabt`/`pabt`).
    fn inject_abort(&mut self, addr: u64, instruction: bool) -> Resume {
        let Ok(mut r) = self.guest.tcb_read_registers(false, PC_SP_SPSR) else {
            return Resume::Stop;
        };
        let spsr = *r.spsr();
        let from_el0 = spsr & 0xf == 0;
        let ec: u64 = match (instruction, from_el0) {
            (true, true) => 0x20,
            (true, false) => 0x21,
            (false, true) => 0x24,
            (false, false) => 0x25,
        };
        let esr = ec << 26 | 1 << 25 | 0x10;
        let vbar = self.vcpu.vcpu_read_regs(vreg::VBAR).unwrap_or(0);
        let offset = if from_el0 {
            0x400
        } else if spsr & 1 != 0 {
            0x200
        } else {
            0
        };
        let ok = self.vcpu.vcpu_write_regs(vreg::ESR, esr).is_ok()
            && self.vcpu.vcpu_write_regs(vreg::FAR, addr).is_ok()
            && self.vcpu.vcpu_write_regs(vreg::ELR_EL1, *r.pc()).is_ok()
            && self.vcpu.vcpu_write_regs(vreg::SPSR_EL1, spsr).is_ok();
        if !ok {
            return Resume::Stop;
        }
        *r.pc_mut() = vbar + offset;
        *r.spsr_mut() = SPSR_EL1H;
        match self.guest.tcb_write_registers(false, PC_SP_SPSR, &r) {
            Ok(()) => Resume::Yes,
            Err(_) => Resume::Stop,
        }
    }

    /// HVC, SMC, WFI/WFE or a trapped system register.
    fn vcpu_fault(&mut self, esr: u64) -> Resume {
        let ec = esr >> 26;
        match ec {
            0x16 | 0x17 => self.psci(ec == 0x17),
            0x01 => {
                // WFI traps only while console output waits: write it out,
                // then let the WFI run natively again.
                self.flush();
                Resume::Yes
            }
            0x18 => {
                // ACTLR_EL1 and whatever else traps: reads as zero, writes
                // ignored.
                let read = esr & 1 != 0;
                let rt = ((esr >> 5) & 0x1f) as u8;
                self.debug(&format!(
                    "system register access trapped (ISS {:#x})",
                    esr & 0x1ff_ffff
                ));
                let a =
                    Access { size: 8, reg: rt, write: !read, sign_extend: false, sixty_four: true };
                self.emulate(a, |_, _, _| 0)
            }
            _ => {
                println!(
                    "vmm: guest trap class {ec:#x} (ESR {esr:#x}) not handled; halting the VM"
                );
                Resume::Stop
            }
        }
    }

    /// A PSCI call (SMCCC): function in x0, arguments in x1-x3, result in
    /// x0. An SMC's return address is the SMC itself.
    fn psci(&mut self, smc: bool) -> Resume {
        let Ok(mut r) = self.guest.tcb_read_registers(false, regs_through(3)) else {
            return Resume::Stop;
        };
        let fid = *r.gpr(0) as u32;
        let args = [*r.gpr(1), *r.gpr(2), *r.gpr(3)];
        let result = match vmm::psci::call(fid, args, 1) {
            PsciAction::Return(v) => v,
            PsciAction::SystemOff => {
                self.flush();
                println!("vmm: the guest powered off (PSCI SYSTEM_OFF)");
                return Resume::Stop;
            }
            PsciAction::SystemReset => {
                self.flush();
                println!("vmm: the guest reset itself (PSCI SYSTEM_RESET); booting it again");
                return match self.reset() {
                    Ok(()) => Resume::Reset,
                    Err(e) => {
                        println!("vmm: error: {e}; stopping the VM");
                        Resume::Stop
                    }
                };
            }
            PsciAction::CpuOff => {
                self.flush();
                println!("vmm: the guest's only CPU went off (PSCI CPU_OFF); stopping the VM");
                return Resume::Stop;
            }
            PsciAction::Suspend => 0,
            PsciAction::CpuOn { .. } => (-1i64) as u64,
        };
        *r.gpr_mut(0) = result;
        if smc {
            *r.pc_mut() += 4;
        }
        match self.guest.tcb_write_registers(false, regs_through(3), &r) {
            Ok(()) => Resume::Yes,
            Err(_) => Resume::Stop,
        }
    }

    /// A byte the guest wrote to its console.
    fn output(&mut self, b: u8) {
        self.out.push(b);
        if b == b'\n' || self.out.len() >= 120 {
            self.flush();
        } else if !self.wfi_traps {
            // Written out when the guest next waits for an interrupt.
            if self.vcpu.vcpu_write_regs(vreg::WFX_TRAPS, 1).is_ok() {
                self.wfi_traps = true;
            }
        }
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            let s = String::from_utf8_lossy(&self.out);
            sel4_runtime::print!("{s}");
            self.out.clear();
        }
        if self.wfi_traps && self.vcpu.vcpu_write_regs(vreg::WFX_TRAPS, 0).is_ok() {
            self.wfi_traps = false;
        }
    }

    fn debug(&self, msg: &str) {
        if self.cfg.verbose >= 2 {
            println!("vmm: {msg}");
        }
    }
}

sel4_runtime::declare_program!(main, heap_size = 1 << 20);

/// `gicv` comes as one frame cap per page, `gicv/<n>`, and `ram` is read
/// by its entry (for its size); recorded for `build ned check`.
#[used]
#[unsafe(link_section = ".ned_caps")]
static FRAME_CAPS: [u8; 15] = *b"gicv/*\0ram\0mem\0";
