//! What a configuration describes: the real hardware as a tree of devices
//! under the system bus (device 0), each with its resources, and the
//! virtual buses, each a list of proxies of hardware devices plus the
//! virtual interrupt controller every vbus has (L4Re's `L4ICU`).
//!
//! Resource flags are L4Re's numbers, so the verbose dump reads the same:
//! the type in the low byte (1 IRQ, 2 MMIO), the IRQ trigger mode times
//! [`flags::IRQ_TYPE_BASE`], and the MMIO attributes.

use alloc::string::String;
use alloc::vec::Vec;

use ned::Pos;

/// Resource flags (L4Re's `Resource::Flags`, plus [`flags::F_READ_ONLY`]).
pub mod flags {
    /// The resource type occupies the low byte.
    pub const TYPE_MASK: u64 = 0xff;
    /// Type: an interrupt line.
    pub const IRQ: u64 = 1;
    /// Type: a range of device memory.
    pub const MMIO: u64 = 2;
    /// MMIO that may be mapped prefetchable.
    pub const F_PREFETCHABLE: u64 = 0x400;
    /// A resource with 64-bit addresses.
    pub const F_WIDTH_64BIT: u64 = 0x1_0000;
    /// MMIO that may be mapped cached (memory rather than registers).
    pub const F_CACHED_MEM: u64 = 0x2_0000;
    /// MMIO clients may only read: their frame caps carry no write right
    /// (not in L4Re).
    pub const F_READ_ONLY: u64 = 0x100_0000;
    /// An IRQ's trigger mode is the flags divided by this.
    pub const IRQ_TYPE_BASE: u64 = 0x10_0000;
    /// The trigger mode's bits.
    pub const IRQ_TYPE_MASK: u64 = 0xf * IRQ_TYPE_BASE;
    /// A hardware device's `Property.flags` bit that lets it sit on several
    /// vbusses (L4Re's `Io.Hw_device_DF_multi_vbus`).
    pub const DF_MULTI_VBUS: i64 = 0x10;
}

/// How an interrupt line signals (L4Re's `L4_irq_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Trigger {
    /// As the hardware is set up.
    None = 0,
    RaisingEdge = 1,
    LevelHigh = 3,
    FallingEdge = 5,
    LevelLow = 7,
    BothEdges = 9,
}

impl Trigger {
    /// Every mode, with the name of its `Io.Resource` constant.
    pub const ALL: [(Trigger, &'static str); 6] = [
        (Trigger::None, "Irq_type_none"),
        (Trigger::LevelHigh, "Irq_type_level_high"),
        (Trigger::LevelLow, "Irq_type_level_low"),
        (Trigger::RaisingEdge, "Irq_type_raising_edge"),
        (Trigger::FallingEdge, "Irq_type_falling_edge"),
        (Trigger::BothEdges, "Irq_type_both_edges"),
    ];

    /// The mode with number `m` (`L4_IRQ_F_*`).
    pub fn from_mode(m: u64) -> Option<Trigger> {
        Self::ALL.iter().map(|t| t.0).find(|t| *t as u64 == m)
    }

    /// As the verbose dump writes it.
    pub fn text(self) -> &'static str {
        match self {
            Trigger::None => "none",
            Trigger::RaisingEdge => "raising edge",
            Trigger::LevelHigh => "level high",
            Trigger::FallingEdge => "falling edge",
            Trigger::LevelLow => "level low",
            Trigger::BothEdges => "both edges",
        }
    }

    /// Whether the GIC can take the line this way: its shared interrupts
    /// are level-high or rising-edge (`None` keeps the level default).
    pub fn on_gic(self) -> Option<bool> {
        match self {
            Trigger::None | Trigger::LevelHigh => Some(false),
            Trigger::RaisingEdge => Some(true),
            _ => None,
        }
    }
}

/// A resource's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResKind {
    Irq,
    Mmio,
}

/// One resource of a device: an IRQ (`start == end`, the GIC interrupt
/// ID) or an MMIO range (`start..=end`, whole 4 KiB pages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its key in the device's `Resource` table (`reg0`, `irq0`).
    pub name: String,
    pub kind: ResKind,
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    /// Where `Io.Res.mmio` / `Io.Res.irq` made it.
    pub pos: Pos,
}

impl Resource {
    /// Bytes of an MMIO range, 1 for an IRQ.
    pub fn size(&self) -> u64 {
        self.end - self.start + 1
    }

    /// An IRQ's trigger mode.
    pub fn trigger(&self) -> Trigger {
        let m = (self.flags & flags::IRQ_TYPE_MASK) / flags::IRQ_TYPE_BASE;
        Trigger::from_mode(m).unwrap_or(Trigger::None)
    }

    /// Whether clients may only read an MMIO range.
    pub fn read_only(&self) -> bool {
        self.flags & flags::F_READ_ONLY != 0
    }

    /// Whether `self` and `other` share an address (MMIO) or a line (IRQ).
    pub fn overlaps(&self, other: &Resource) -> bool {
        self.kind == other.kind && self.start <= other.end && other.start <= self.end
    }
}

/// A value of a device property (`hid`, `compatible`, `Property.x`, and
/// any other key a device body sets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prop {
    Int(i64),
    Str(String),
    List(Vec<String>),
}

/// A hardware device (or the system bus itself, device 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its key in its parent (`rtc`); `System Bus` for the root.
    pub name: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub hid: String,
    pub compatible: Vec<String>,
    /// Other properties, by name.
    pub props: Vec<(String, Prop)>,
    pub resources: Vec<Resource>,
    /// `Property.flags` has [`flags::DF_MULTI_VBUS`].
    pub multi_vbus: bool,
    /// Where `Io.Hw.Device` made it.
    pub pos: Pos,
}

/// A hardware device placed on a vbus (L4Re's `Vi::Proxy_dev`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// Its name on the vbus (`PL031`).
    pub name: String,
    /// The hardware device.
    pub hw: usize,
    /// Where `wrap` made it.
    pub pos: Pos,
}

/// A virtual bus: what one client channel may see and use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vbus {
    pub name: String,
    /// Its devices, in name order.
    pub devices: Vec<Proxy>,
    /// Where `Io.add_vbusses` named it.
    pub pos: Pos,
}

/// A device as a vbus client enumerates it: the virtual interrupt
/// controller first, then the proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VDev<'a> {
    /// The vbus's `L4ICU`: binds, masks and acknowledges the IRQs of the
    /// bus's devices.
    Icu,
    Proxy(&'a Proxy),
}

/// Name and HID of every vbus's interrupt controller.
pub const ICU_NAME: &str = "L4ICU";

/// Everything the configuration files said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Device 0 is the system bus; the rest hang below it.
    pub devices: Vec<Device>,
    pub buses: Vec<Vbus>,
}

impl Default for Config {
    fn default() -> Self {
        let root = Device {
            name: "System Bus".into(),
            parent: None,
            children: Vec::new(),
            hid: String::new(),
            compatible: Vec::new(),
            props: Vec::new(),
            resources: Vec::new(),
            multi_vbus: false,
            pos: Pos::default(),
        };
        Config { devices: alloc::vec![root], buses: Vec::new() }
    }
}

impl Config {
    /// The device's path from the system bus, as messages name it (`rtc`,
    /// `pci.eth0`).
    pub fn path(&self, dev: usize) -> String {
        let mut parts = Vec::new();
        let mut d = dev;
        while let Some(p) = self.devices[d].parent {
            parts.push(self.devices[d].name.as_str());
            d = p;
        }
        parts.reverse();
        parts.join(".")
    }

    /// The vbus named `name`.
    pub fn bus(&self, name: &str) -> Option<usize> {
        self.buses.iter().position(|b| b.name == name)
    }

    /// The devices of vbus `bus` in the order clients enumerate them
    /// (depth first: the ICU, then each proxy).
    pub fn vbus_devices(&self, bus: usize) -> Vec<VDev<'_>> {
        let mut v = alloc::vec![VDev::Icu];
        v.extend(self.buses[bus].devices.iter().map(VDev::Proxy));
        v
    }

    /// The resources a vbus device shows: a proxy's are its hardware's.
    pub fn vdev_resources(&self, d: VDev<'_>) -> &[Resource] {
        match d {
            VDev::Icu => &[],
            VDev::Proxy(p) => &self.devices[p.hw].resources,
        }
    }

    /// The MMIO resource of a device on vbus `bus` that holds `paddr`.
    pub fn mmio_on_bus(&self, bus: usize, paddr: u64) -> Option<&Resource> {
        self.buses[bus]
            .devices
            .iter()
            .flat_map(|p| &self.devices[p.hw].resources)
            .find(|r| r.kind == ResKind::Mmio && r.start <= paddr && paddr <= r.end)
    }

    /// Whether a device on vbus `bus` has IRQ `irq`.
    pub fn irq_on_bus(&self, bus: usize, irq: u64) -> bool {
        self.buses[bus]
            .devices
            .iter()
            .flat_map(|p| &self.devices[p.hw].resources)
            .any(|r| r.kind == ResKind::Irq && r.start == irq)
    }

    /// The vbus proxies of hardware device `hw`: (bus, proxy index).
    pub fn clients(&self, hw: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (b, bus) in self.buses.iter().enumerate() {
            for (i, p) in bus.devices.iter().enumerate() {
                if p.hw == hw {
                    out.push((b, i));
                }
            }
        }
        out
    }

    /// Every resource of every hardware device: (device, resource).
    pub fn all_resources(&self) -> impl Iterator<Item = (usize, &Resource)> {
        self.devices.iter().enumerate().flat_map(|(i, d)| d.resources.iter().map(move |r| (i, r)))
    }
}
