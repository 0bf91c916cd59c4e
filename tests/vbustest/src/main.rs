//! `vbustest`: a client of io, one role per first argument, on its `vbus`
//! cap.
//!
//! - `rtc COMPATIBLE`: lists the vbus's devices, finds the device
//!   compatible with COMPATIBLE (`arm,pl031`), maps its MMIO and prints
//!   its PrimeCell ID and its data register (`rtc: <seconds>`, the PL031's
//!   RTCDR: seconds since the epoch).
//! - `refused COMPATIBLE ADDR IRQ`: expects the vbus to have no such
//!   device and io to refuse the page at ADDR and IRQ IRQ; prints each
//!   answer.
//! - `irq COMPATIBLE`: binds the PL031's interrupt to a notification made
//!   from its `mem`, sets the match register to RTCDR + 1 and waits for the
//!   interrupt, twice (the second proves the ack unmasked the line); then
//!   with the IRQ masked through the ICU lets the match fire unseen, and
//!   checks that unmasking delivers it; sets the trigger mode (level high
//!   is taken, level low refused); last unbinds.
//!
//! Exit code 0 when everything went as expected, 1 otherwise.

#![no_std]
#![no_main]

use program_env::slot;
use sel4::{AbsoluteCPtr, CPtr, CapRights, Error, ObjectBlueprint, VmAttributes, cap};
use sel4_runtime::{env, get_cap, println};
use vbus_api::{DeviceInfo, Vbus, mode, res_type};

/// Where the device's page is mapped.
const DEV_VADDR: u64 = 0x1000_0000;
const S_FRAME: u64 = slot::NAMED_END;
const S_NTFN: u64 = S_FRAME + 1;
const S_PROBE: u64 = S_FRAME + 2;
/// The notification with badge [`BADGE`], as the IRQ signals it.
const S_NTFN_BADGED: u64 = S_FRAME + 3;
const BADGE: u64 = 1;
const S_TABLES: u64 = S_FRAME + 8;

/// PL031 registers.
const RTCDR: usize = 0x00;
const RTCMR: usize = 0x04;
const RTCRIS: usize = 0x14;
const RTCIMSC: usize = 0x10;
const RTCICR: usize = 0x1c;
const PERIPH_ID: usize = 0xfe0;

fn at(s: u64) -> AbsoluteCPtr {
    let cnode: cap::CNode = CPtr::from_bits(slot::CNODE).cast();
    cnode.absolute_cptr_from_bits_with_depth(s, program_env::CNODE_BITS)
}

fn main(_: sel4::Word) {
    let mut args = env::args();
    let role = args.next().unwrap_or("");
    let compatible = args.next().unwrap_or("arm,pl031");
    let Some(ep) = get_cap!("vbus") else {
        println!("{role}: no cap named `vbus`");
        sel4_runtime::exit(3)
    };
    let v: Vbus = Vbus::new(ep);
    let ok = match role {
        "rtc" => rtc(&v, compatible),
        "refused" => {
            let num = |a: Option<&str>| {
                let a = a.unwrap_or("0");
                a.strip_prefix("0x").map_or(a.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
            };
            let addr = num(args.next()).unwrap_or(0);
            let irq = num(args.next()).unwrap_or(0);
            refused(&v, compatible, addr, irq)
        }
        "irq" => irq(&v, compatible),
        other => {
            println!("unknown role {other:?}; roles: rtc, refused, irq");
            false
        }
    };
    sel4_runtime::exit(if ok { 0 } else { 1 })
}

/// Prints the vbus's devices; the one compatible with `c`, if any.
fn find(role: &str, v: &Vbus, c: &str) -> Option<DeviceInfo> {
    let mut found = None;
    for d in v.devices() {
        match d {
            Ok(d) => {
                println!(
                    "{role}: device {} `{}` hid={} compatible={:?} resources={}",
                    d.index,
                    d.name(),
                    d.hid(),
                    d.compatible().collect::<heapless_list::List>(),
                    d.resources
                );
                if found.is_none() && d.is_compatible(c) {
                    found = Some(d);
                }
            }
            Err(e) => {
                println!("{role}: enumerating: {e}");
                return None;
            }
        }
    }
    found
}

/// Maps `dev`'s first MMIO resource's first page at DEV_VADDR.
fn map_device(role: &str, v: &Vbus, dev: &DeviceInfo) -> Result<*mut u32, ()> {
    let (i, r) = match v.find_resource(dev, res_type::MMIO) {
        Ok(Some(x)) => x,
        other => {
            println!("{role}: no MMIO resource on `{}`: {other:?}", dev.name());
            return Err(());
        }
    };
    let f = match v.map_mmio(dev.index, i, &[at(S_FRAME)]) {
        Ok((f, _)) => f,
        Err(e) => {
            println!("{role}: map_mmio({}, {i}): {e}", dev.index);
            return Err(());
        }
    };
    println!(
        "{role}: {} Resource.{} [{:#x}-{:#x}]: got the frame of {:#x} ({})",
        dev.name(),
        r.name(),
        r.start,
        r.end,
        f.paddr,
        if f.writable() { "read-write" } else { "read-only" }
    );
    let mem: cap::Untyped = get_cap!("mem").ok_or(())?;
    let frame: cap::Granule = CPtr::from_bits(S_FRAME).cast();
    let vspace: cap::VSpace = CPtr::from_bits(slot::VSPACE).cast();
    let me = at(slot::CNODE).root().absolute_cptr_for_self();
    let mut tables = S_TABLES;
    loop {
        let rights = if f.writable() { CapRights::read_write() } else { CapRights::read_only() };
        let attrs = VmAttributes::NONE | VmAttributes::EXECUTE_NEVER;
        match frame.frame_map(vspace, DEV_VADDR as usize, rights, attrs) {
            Ok(()) => return Ok(DEV_VADDR as *mut u32),
            Err(Error::FailedLookup) if tables < S_TABLES + 3 => {
                let made = mem.untyped_retype(&ObjectBlueprint::PageTable, &me, tables as usize, 1);
                let pt: cap::PageTable = CPtr::from_bits(tables).cast();
                if made
                    .and_then(|()| {
                        pt.page_table_map(vspace, DEV_VADDR as usize, VmAttributes::DEFAULT)
                    })
                    .is_err()
                {
                    println!("{role}: no page table for the mapping");
                    return Err(());
                }
                tables += 1;
            }
            Err(e) => {
                println!("{role}: mapping the frame: {e:?}");
                return Err(());
            }
        }
    }
}

fn read(base: *mut u32, off: usize) -> u32 {
    // SAFETY: `base` is the device page `map_device` mapped, uncached, for
    // the rest of the program; `off` is a register offset inside it.
    unsafe { core::ptr::read_volatile(base.add(off / 4)) }
}

fn write(base: *mut u32, off: usize, v: u32) {
    // SAFETY: as for `read`.
    unsafe { core::ptr::write_volatile(base.add(off / 4), v) }
}

/// The PrimeCell peripheral ID (PL031: 0x00041031).
fn periph_id(base: *mut u32) -> u32 {
    (0..4).fold(0, |id, i| id | (read(base, PERIPH_ID + 4 * i) & 0xff) << (8 * i))
}

fn rtc(v: &Vbus, c: &str) -> bool {
    let Some(dev) = find("rtc", v, c) else {
        println!("rtc: no device compatible with {c}");
        return false;
    };
    let Ok(base) = map_device("rtc", v, &dev) else { return false };
    println!("rtc: periph id {:#010x}", periph_id(base));
    println!("rtc: {}", read(base, RTCDR));
    true
}

fn refused(v: &Vbus, c: &str, addr: u64, irq: u64) -> bool {
    let mut ok = true;
    match find("refused", v, c) {
        None => println!("refused: no device compatible with {c} on this vbus"),
        Some(d) => {
            println!("refused: found {} compatible with {c}?", d.name());
            ok = false;
        }
    }
    match v.map_mmio_at(addr, &at(S_PROBE)) {
        Err(e) => println!("refused: map {addr:#x}: {e}"),
        Ok(f) => {
            println!("refused: map {addr:#x}: got the frame of {:#x}?", f.paddr);
            ok = false;
        }
    }
    let count = v.device(0).map_or(0, |d| d.count);
    match v.map_mmio(count, 0, &[at(S_PROBE)]) {
        Err(e) => println!("refused: map device {count}: {e}"),
        Ok(_) => {
            println!("refused: map device {count}: got a frame?");
            ok = false;
        }
    }
    let mem: Option<cap::Untyped> = get_cap!("mem");
    let me = at(slot::CNODE).root().absolute_cptr_for_self();
    let made =
        mem.map(|m| m.untyped_retype(&ObjectBlueprint::Notification, &me, S_NTFN as usize, 1));
    if made != Some(Ok(())) {
        println!("refused: no notification: {made:?}");
        return false;
    }
    match v.icu_bind(irq, CPtr::from_bits(S_NTFN).cast()) {
        Err(e) => println!("refused: bind IRQ {irq}: {e}"),
        Ok(()) => {
            println!("refused: bind IRQ {irq}: bound?");
            ok = false;
        }
    }
    match v.icu_ack(irq) {
        Err(e) => println!("refused: ack IRQ {irq}: {e}"),
        Ok(()) => {
            println!("refused: ack IRQ {irq}: acknowledged?");
            ok = false;
        }
    }
    ok
}

/// Sets the match register to RTCDR + 1 with the interrupt enabled; the
/// time it was armed at.
fn arm(base: *mut u32) -> u32 {
    write(base, RTCICR, 1);
    let now = read(base, RTCDR);
    write(base, RTCMR, now.wrapping_add(1));
    write(base, RTCIMSC, 1);
    now
}

fn irq(v: &Vbus, c: &str) -> bool {
    let Some(dev) = find("irq", v, c) else {
        println!("irq: no device compatible with {c}");
        return false;
    };
    let Ok(base) = map_device("irq", v, &dev) else { return false };
    let irq = match v.find_resource(&dev, res_type::IRQ) {
        Ok(Some((_, r))) => r.start,
        other => {
            println!("irq: no IRQ resource: {other:?}");
            return false;
        }
    };
    let mem: Option<cap::Untyped> = get_cap!("mem");
    let me = at(slot::CNODE).root().absolute_cptr_for_self();
    let made =
        mem.map(|m| m.untyped_retype(&ObjectBlueprint::Notification, &me, S_NTFN as usize, 1));
    if made != Some(Ok(())) {
        println!("irq: no notification: {made:?}");
        return false;
    }
    let ntfn: cap::Notification = CPtr::from_bits(S_NTFN).cast();
    // A badged cap, so a poll tells a signal from none.
    if let Err(e) = at(S_NTFN_BADGED).mint(&at(S_NTFN), CapRights::write_only(), BADGE) {
        println!("irq: minting a badged notification: {e:?}");
        return false;
    }
    if let Err(e) = v.icu_bind(irq, CPtr::from_bits(S_NTFN_BADGED).cast()) {
        println!("irq: bind IRQ {irq}: {e}");
        return false;
    }
    println!("irq: IRQ {irq} bound");
    for round in 1..=2 {
        let armed = arm(base);
        let (_, badge) = ntfn.wait();
        let now = read(base, RTCDR);
        let ris = read(base, RTCRIS);
        write(base, RTCICR, 1);
        let acked = v.icu_ack(irq);
        println!(
            "irq: fired after {} s (round {round}: armed at {armed}, match {}, RIS {ris}, badge {badge}), ack {acked:?}",
            now.wrapping_sub(armed),
            armed.wrapping_add(1)
        );
        if ris & 1 == 0 || badge != BADGE || acked.is_err() {
            return false;
        }
    }
    if let Err(e) = v.icu_mask(irq) {
        println!("irq: mask: {e}");
        return false;
    }
    let armed = arm(base);
    let deadline = armed.wrapping_add(4);
    while read(base, RTCRIS) & 1 == 0 {
        if read(base, RTCDR) == deadline {
            println!("irq: masked: the match never fired (armed at {armed})");
            return false;
        }
    }
    // Let the kernel take the interrupt (it goes to io's notification).
    for _ in 0..1000 {
        sel4::r#yield();
    }
    let early = ntfn.poll().1;
    println!("irq: masked: the line fired (RIS 1); delivered while masked: {}", early != 0);
    if let Err(e) = v.icu_unmask(irq) {
        println!("irq: unmask: {e}");
        return false;
    }
    let (_, badge) = ntfn.poll();
    println!(
        "irq: unmasked: the held delivery {}",
        if badge == BADGE { "arrived" } else { "is missing" }
    );
    write(base, RTCICR, 1);
    write(base, RTCIMSC, 0);
    let acked = v.icu_ack(irq);
    // The PL031's line is level-high, which the GIC does; level-low it
    // does not.
    let high = v.icu_set_mode(irq, mode::LEVEL_HIGH);
    let low = v.icu_set_mode(irq, mode::LEVEL_LOW);
    println!("irq: set mode level high: {high:?}, level low: {low:?}");
    let unbound = v.icu_unbind(irq);
    let after = v.icu_ack(irq);
    println!("irq: ack {acked:?}, unbind {unbound:?}, ack after unbind: {after:?}");
    let modes = high.is_ok() && low == Err(vbus_api::Error::Unsupported);
    early == 0 && badge == BADGE && acked.is_ok() && modes && unbound.is_ok() && after.is_err()
}

/// `{:?}` of a device's compatible strings without an allocator.
mod heapless_list {
    /// Up to eight strings.
    #[derive(Default)]
    pub struct List<'a>([&'a str; 8], usize);

    impl<'a> FromIterator<&'a str> for List<'a> {
        fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
            let mut l = List::default();
            for s in iter.into_iter().take(8) {
                l.0[l.1] = s;
                l.1 += 1;
            }
            l
        }
    }

    impl core::fmt::Debug for List<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_list().entries(&self.0[..self.1]).finish()
        }
    }
}

sel4_runtime::declare_program!(main);
