//! The guest's device tree: a flattened device tree (DTB, devicetree
//! specification v0.4 chapter 5) parsed into a tree that can be read and
//! changed, then written back out as a DTB.
//!
//! The VMM starts from a DTB that describes the guest's machine, fills in
//! what it decides at boot (the RAM in `/memory`, the command line and the
//! initrd in `/chosen`), disables what it does not provide, and reads the
//! devices (their MMIO regions and interrupts) and the interrupt controller
//! from it.
//!
//! Paths are absolute (`/chosen`, `/soc/serial@20000`); a path component
//! without a unit address also finds a node that has one (`/memory` finds
//! `memory@40000000`), the exact name being preferred.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// `0xd00dfeed`, the first word of every DTB.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Version written by [`Tree::to_blob`] and its last compatible version.
const VERSION: u32 = 17;
const LAST_COMP_VERSION: u32 = 16;
/// Deepest node nesting accepted from a blob.
pub const MAX_DEPTH: usize = 64;

/// GICv2 compatibles, as Linux's `irq-gic.c` knows them.
pub const GICV2_COMPATIBLES: [&str; 3] = ["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"];
/// Compatibles of GICv2-like controllers whose interrupt specifiers are
/// decoded here (three cells: type, number, flags).
const GIC_COMPATIBLES: [&str; 8] = [
    "arm,cortex-a15-gic",
    "arm,gic-400",
    "arm,cortex-a9-gic",
    "arm,cortex-a7-gic",
    "arm,arm11mp-gic",
    "arm,pl390",
    "arm,eb11mp-gic",
    "arm,gic-v3",
];

/// Why a device tree could not be parsed or used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtError {
    /// The blob is malformed at this byte offset.
    Blob { offset: usize, what: String },
    /// No node has this path.
    NoNode { path: String },
    /// A node's properties are malformed or unsupported.
    Node { path: String, what: String },
    /// A node's `interrupt-parent` names no node.
    UnknownPhandle { path: String, phandle: u32 },
    /// No GICv2 node.
    NoGic,
    /// The interrupt controller is a GICv3.
    GicV3 { path: String },
}

impl fmt::Display for DtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtError::Blob { offset, what } => {
                write!(f, "device tree blob: {what} (at offset {offset:#x})")
            }
            DtError::NoNode { path } => write!(f, "the device tree has no node {path}"),
            DtError::Node { path, what } => write!(f, "device tree node {path}: {what}"),
            DtError::UnknownPhandle { path, phandle } => write!(
                f,
                "device tree node {path}: interrupt parent <{phandle:#x}> is no node's phandle"
            ),
            DtError::NoGic => write!(
                f,
                "the device tree has no GICv2 node (compatible {})",
                GICV2_COMPATIBLES.join(", ")
            ),
            DtError::GicV3 { path } => {
                write!(f, "GICv3 guest device trees are not supported (node {path})")
            }
        }
    }
}

fn blob_err(offset: usize, what: impl Into<String>) -> DtError {
    DtError::Blob { offset, what: what.into() }
}

fn node_err(path: &str, what: impl Into<String>) -> DtError {
    DtError::Node { path: path.to_string(), what: what.into() }
}

/// One node: its name (with the unit address), its properties in order,
/// its children in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub props: Vec<(String, Vec<u8>)>,
    pub children: Vec<Node>,
}

impl Node {
    /// An empty node.
    pub fn new(name: &str) -> Node {
        Node { name: name.to_string(), props: Vec::new(), children: Vec::new() }
    }

    /// The value of property `name`.
    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Sets property `name`, replacing its value in place or appending it.
    pub fn set_prop(&mut self, name: &str, value: &[u8]) {
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_vec(),
            None => self.props.push((name.to_string(), value.to_vec())),
        }
    }

    /// Removes property `name`; whether it was there.
    pub fn remove_prop(&mut self, name: &str) -> bool {
        let before = self.props.len();
        self.props.retain(|(n, _)| n != name);
        self.props.len() != before
    }

    /// Property `name` as a string (without its terminating NUL).
    pub fn prop_str(&self, name: &str) -> Option<&str> {
        self.prop(name).and_then(as_str)
    }

    /// Property `name` as one 32-bit cell.
    pub fn prop_u32(&self, name: &str) -> Option<u32> {
        match self.prop(name)? {
            [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// The strings of the `compatible` property.
    pub fn compatible(&self) -> Vec<String> {
        self.prop("compatible").map(string_list).unwrap_or_default()
    }

    /// Whether `compatible` lists `c`.
    pub fn is_compatible(&self, c: &str) -> bool {
        self.prop("compatible").is_some_and(|v| v.split(|&b| b == 0).any(|s| s == c.as_bytes()))
    }

    /// `status` absent, `"okay"` or `"ok"`.
    pub fn is_enabled(&self) -> bool {
        matches!(self.prop_str("status"), None | Some("okay") | Some("ok"))
    }

    /// The `phandle` (or the older `linux,phandle`).
    pub fn phandle(&self) -> Option<u32> {
        self.prop_u32("phandle").or_else(|| self.prop_u32("linux,phandle"))
    }

    fn address_cells(&self) -> u32 {
        self.prop_u32("#address-cells").unwrap_or(2)
    }

    fn size_cells(&self) -> u32 {
        self.prop_u32("#size-cells").unwrap_or(1)
    }

    /// The child a path component names: the exact name, else (for a
    /// component without `@`) the first child whose name before `@` matches.
    fn child_index(&self, component: &str) -> Option<usize> {
        self.children.iter().position(|c| c.name == component).or_else(|| {
            if component.contains('@') {
                return None;
            }
            self.children.iter().position(|c| c.name.split('@').next() == Some(component))
        })
    }
}

/// A string property's value without its NUL.
fn as_str(v: &[u8]) -> Option<&str> {
    let v = v.strip_suffix(&[0]).unwrap_or(v);
    core::str::from_utf8(v).ok()
}

/// The strings of a string-list property.
fn string_list(v: &[u8]) -> Vec<String> {
    let v = v.strip_suffix(&[0]).unwrap_or(v);
    if v.is_empty() {
        return Vec::new();
    }
    v.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// A string property value (with its NUL).
pub fn string_prop(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A value as `cells` big-endian 32-bit cells.
fn encode_cells(value: u64, cells: u32, path: &str, what: &str) -> Result<Vec<u8>, DtError> {
    match cells {
        1 if value <= u32::MAX as u64 => Ok((value as u32).to_be_bytes().to_vec()),
        2 => Ok(value.to_be_bytes().to_vec()),
        _ => Err(node_err(path, format!("{what} {value:#x} does not fit in {cells} cell(s)"))),
    }
}

/// Reads `cells` (at most 2) cells as a number.
fn read_cells(v: &[u8], cells: u32) -> u64 {
    v[..cells as usize * 4]
        .chunks(4)
        .fold(0u64, |acc, c| (acc << 32) | u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" { format!("/{name}") } else { format!("{parent}/{name}") }
}

/// A device found in the tree: a node with `reg` or `interrupts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub path: String,
    pub compatible: Vec<String>,
    /// MMIO regions `(base, size)` in the root's (physical) address space;
    /// empty when the node is not memory-mapped (`mapped` false).
    pub regs: Vec<(u64, u64)>,
    pub irqs: Vec<Irq>,
    /// `status` absent, `"okay"` or `"ok"`.
    pub enabled: bool,
    /// Whether `reg` translates to the root's address space: every bus
    /// between the node and the root has `ranges` covering the addresses.
    /// False for nodes on a bus like I2C, whose `reg` is a bus address.
    pub mapped: bool,
}

/// A GIC interrupt of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irq {
    /// The GIC INTID (SPI n is 32 + n, PPI n is 16 + n).
    pub intid: u32,
    pub kind: IrqKind,
    pub trigger: Trigger,
}

/// Shared or private peripheral interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqKind {
    Spi,
    Ppi,
}

/// The trigger type of the interrupt specifier's flags cell (bits 0-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    EdgeRising,
    EdgeFalling,
    LevelHigh,
    LevelLow,
    /// Flags 0: the controller's default.
    None,
}

impl Trigger {
    /// Whether the interrupt is level-sensitive.
    pub fn is_level(self) -> bool {
        matches!(self, Trigger::LevelHigh | Trigger::LevelLow)
    }
}

/// The guest's GICv2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gic {
    pub path: String,
    /// The distributor (GICD) `(base, size)`.
    pub dist: (u64, u64),
    /// The CPU interface (GICC) `(base, size)`, where the guest's view of
    /// the virtual CPU interface (GICV) is mapped.
    pub cpu: (u64, u64),
    pub phandle: Option<u32>,
}

/// A device tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    pub root: Node,
    /// The memory reservation block: `(address, size)` entries.
    pub reserved: Vec<(u64, u64)>,
    /// The header's `boot_cpuid_phys`.
    pub boot_cpuid_phys: u32,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

/// Bounds-checked big-endian reads of a blob.
struct Reader<'a> {
    blob: &'a [u8],
}

impl Reader<'_> {
    fn u32(&self, at: usize, what: &str) -> Result<u32, DtError> {
        self.blob
            .get(at..at.saturating_add(4))
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| blob_err(at, format!("{what} lies beyond the end of the blob")))
    }

    fn u64(&self, at: usize, what: &str) -> Result<u64, DtError> {
        Ok(((self.u32(at, what)? as u64) << 32) | self.u32(at + 4, what)? as u64)
    }
}

/// A NUL-terminated UTF-8 string at `at` inside `[at, end)`.
fn c_str(blob: &[u8], at: usize, end: usize, what: &str) -> Result<String, DtError> {
    let bytes = blob.get(at..end).unwrap_or(&[]);
    let nul = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| blob_err(at, format!("{what} is not NUL-terminated")))?;
    core::str::from_utf8(&bytes[..nul])
        .map(str::to_string)
        .map_err(|_| blob_err(at, format!("{what} is not UTF-8")))
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Tree {
    /// A tree with an empty root.
    pub fn new() -> Tree {
        Tree { root: Node::new(""), reserved: Vec::new(), boot_cpuid_phys: 0 }
    }

    /// Parses a DTB (version 16 or later).
    pub fn parse(blob: &[u8]) -> Result<Tree, DtError> {
        let r = Reader { blob };
        let magic = r.u32(0, "the header")?;
        if magic != FDT_MAGIC {
            return Err(blob_err(
                0,
                format!("bad magic {magic:#010x}, expected {FDT_MAGIC:#010x}"),
            ));
        }
        let version = r.u32(20, "the header")?;
        let last_comp = r.u32(24, "the header")?;
        if version < 16 {
            return Err(blob_err(20, format!("version {version} is older than 16")));
        }
        if last_comp > VERSION {
            return Err(blob_err(
                24,
                format!("last compatible version {last_comp} is newer than {VERSION}"),
            ));
        }
        let header_len = if version >= 17 { 40 } else { 36 };
        let total = r.u32(4, "the header")? as usize;
        if total > blob.len() {
            return Err(blob_err(
                4,
                format!("totalsize {total:#x} exceeds the blob's {:#x} bytes", blob.len()),
            ));
        }
        if total < header_len {
            return Err(blob_err(4, format!("totalsize {total:#x} is smaller than the header")));
        }
        r.u32(header_len - 4, "the header")?;
        let blob = &blob[..total];
        let r = Reader { blob };
        let off_struct = r.u32(8, "the header")? as usize;
        let off_strings = r.u32(12, "the header")? as usize;
        let off_rsv = r.u32(16, "the header")? as usize;
        let boot_cpuid_phys = r.u32(28, "the header")?;
        let size_strings = r.u32(32, "the header")? as usize;
        let size_struct = if version >= 17 {
            r.u32(36, "the header")? as usize
        } else {
            total - off_struct.min(total)
        };
        let block = |off: usize, size: usize, field: usize, name: &str| {
            if off.checked_add(size).is_none_or(|end| end > total) || off < header_len {
                Err(blob_err(
                    field,
                    format!(
                        "{name} [{off:#x}, +{size:#x}) lies outside the blob (header to totalsize {total:#x})"
                    ),
                ))
            } else {
                Ok(())
            }
        };
        block(off_struct, size_struct, 8, "structure block")?;
        block(off_strings, size_strings, 12, "strings block")?;
        block(off_rsv, 0, 16, "memory reservation block")?;
        if !off_struct.is_multiple_of(4) {
            return Err(blob_err(
                8,
                format!("structure block offset {off_struct:#x} is unaligned"),
            ));
        }

        let mut reserved = Vec::new();
        let mut at = off_rsv;
        loop {
            if at + 16 > total {
                return Err(blob_err(at, "memory reservation block has no terminating entry"));
            }
            let (address, size) = (r.u64(at, "reservation")?, r.u64(at + 8, "reservation")?);
            at += 16;
            if address == 0 && size == 0 {
                break;
            }
            reserved.push((address, size));
        }

        let root =
            parse_struct(blob, off_struct, off_struct + size_struct, off_strings, size_strings)?;
        Ok(Tree { root, reserved, boot_cpuid_phys })
    }

    /// Writes the tree as a DTB (version 17): header, memory reservation
    /// block, structure block, strings block with each name once.
    pub fn to_blob(&self) -> Vec<u8> {
        let mut strings: Vec<u8> = Vec::new();
        let mut offsets: BTreeMap<&str, u32> = BTreeMap::new();
        let mut st: Vec<u8> = Vec::new();
        write_node(&self.root, &mut st, &mut strings, &mut offsets);
        st.extend_from_slice(&FDT_END.to_be_bytes());

        let off_rsv = 40usize;
        let off_struct = off_rsv + 16 * (self.reserved.len() + 1);
        let off_strings = off_struct + st.len();
        let total = off_strings + strings.len();
        let mut out = Vec::with_capacity(total);
        for word in [
            FDT_MAGIC,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            off_rsv as u32,
            VERSION,
            LAST_COMP_VERSION,
            self.boot_cpuid_phys,
            strings.len() as u32,
            st.len() as u32,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        for &(a, s) in self.reserved.iter().chain(core::iter::once(&(0, 0))) {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&s.to_be_bytes());
        }
        out.extend_from_slice(&st);
        out.extend_from_slice(&strings);
        out
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        let mut n = &self.root;
        for c in components(path)? {
            n = &n.children[n.child_index(c)?];
        }
        Some(n)
    }

    /// The node at `path`, to change it.
    pub fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut n = &mut self.root;
        for c in components(path)? {
            let i = n.child_index(c)?;
            n = &mut n.children[i];
        }
        Some(n)
    }

    /// The node at `path`, creating it and missing parents (named by the
    /// path's components) if needed. `path` must be absolute.
    pub fn ensure_node(&mut self, path: &str) -> Result<&mut Node, DtError> {
        let comps = components(path).ok_or_else(|| DtError::NoNode { path: path.to_string() })?;
        let mut n = &mut self.root;
        for c in comps {
            let i = match n.child_index(c) {
                Some(i) => i,
                None => {
                    n.children.push(Node::new(c));
                    n.children.len() - 1
                }
            };
            n = &mut n.children[i];
        }
        Ok(n)
    }

    /// Removes the node at `path` (not the root) and returns it.
    pub fn remove_node(&mut self, path: &str) -> Result<Node, DtError> {
        let no_node = || DtError::NoNode { path: path.to_string() };
        let (parent, name) = path.rsplit_once('/').ok_or_else(no_node)?;
        let parent = if parent.is_empty() { "/" } else { parent };
        let p = self.node_mut(parent).ok_or_else(no_node)?;
        let i = p.child_index(name).filter(|_| !name.is_empty()).ok_or_else(no_node)?;
        Ok(p.children.remove(i))
    }

    /// Property `name` of the node at `path`.
    pub fn prop(&self, path: &str, name: &str) -> Option<&[u8]> {
        self.node(path)?.prop(name)
    }

    /// Sets property `name` of the node at `path`.
    pub fn set_prop(&mut self, path: &str, name: &str, value: &[u8]) -> Result<(), DtError> {
        self.node_mut(path)
            .ok_or_else(|| DtError::NoNode { path: path.to_string() })?
            .set_prop(name, value);
        Ok(())
    }

    /// Removes property `name` of the node at `path`; whether it was there.
    pub fn remove_prop(&mut self, path: &str, name: &str) -> Result<bool, DtError> {
        Ok(self
            .node_mut(path)
            .ok_or_else(|| DtError::NoNode { path: path.to_string() })?
            .remove_prop(name))
    }

    /// Sets `status = "disabled"` on the node at `path`.
    pub fn disable(&mut self, path: &str) -> Result<(), DtError> {
        self.set_prop(path, "status", b"disabled\0")
    }

    /// Makes guest RAM `[base, base + size)` the only memory: the first
    /// root node with `device_type = "memory"` gets this `reg` (encoded with
    /// the root's `#address-cells` and `#size-cells`) and the name
    /// `memory@<base>`, any further memory nodes are removed; without one,
    /// `/memory@<base>` is created.
    pub fn set_memory(&mut self, base: u64, size: u64) -> Result<(), DtError> {
        let (ac, sc) = (self.root.address_cells(), self.root.size_cells());
        let mut reg = encode_cells(base, ac, "/", "memory base")?;
        reg.extend(encode_cells(size, sc, "/", "memory size")?);
        let name = format!("memory@{base:x}");
        let is_memory = |n: &Node| n.prop_str("device_type") == Some("memory");
        let mut found = false;
        self.root.children.retain_mut(|n| {
            if !is_memory(n) {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            n.name = name.clone();
            n.set_prop("reg", &reg);
            true
        });
        if !found {
            let mut n = Node::new(&name);
            n.set_prop("device_type", &string_prop("memory"));
            n.set_prop("reg", &reg);
            self.root.children.push(n);
        }
        Ok(())
    }

    /// Fills `/chosen` (created if missing): `bootargs` when given (else
    /// any present one stays); `linux,initrd-start` and `linux,initrd-end`
    /// as 64-bit values when an initrd `(start, end)` is given, else any
    /// present ones are removed (they would name memory the VMM did not
    /// fill).
    pub fn set_chosen(
        &mut self,
        bootargs: Option<&str>,
        initrd: Option<(u64, u64)>,
    ) -> Result<(), DtError> {
        let chosen = self.ensure_node("/chosen")?;
        if let Some(args) = bootargs {
            chosen.set_prop("bootargs", &string_prop(args));
        }
        match initrd {
            Some((start, end)) => {
                chosen.set_prop("linux,initrd-start", &start.to_be_bytes());
                chosen.set_prop("linux,initrd-end", &end.to_be_bytes());
            }
            None => {
                chosen.remove_prop("linux,initrd-start");
                chosen.remove_prop("linux,initrd-end");
            }
        }
        Ok(())
    }

    /// The base of guest RAM the tree describes: the first address of the
    /// first root node with `device_type = "memory"` and a `reg`.
    pub fn memory_base(&self) -> Option<u64> {
        let ac = self.root.address_cells();
        if ac > 2 {
            return None;
        }
        self.root
            .children
            .iter()
            .filter(|n| n.prop_str("device_type") == Some("memory"))
            .find_map(|n| n.prop("reg").filter(|r| r.len() >= ac as usize * 4))
            .map(|r| read_cells(r, ac))
    }

    /// Calls `f(node, path, ancestors)` for every node, depth-first in
    /// document order; `ancestors` runs from the root to the parent. `f`
    /// returns whether to visit the node's children.
    pub fn visit<'a, E, F>(&'a self, f: &mut F) -> Result<(), E>
    where
        F: FnMut(&'a Node, &str, &[&'a Node]) -> Result<bool, E>,
    {
        fn go<'a, E, F>(
            n: &'a Node,
            path: &str,
            anc: &mut Vec<&'a Node>,
            f: &mut F,
        ) -> Result<(), E>
        where
            F: FnMut(&'a Node, &str, &[&'a Node]) -> Result<bool, E>,
        {
            if f(n, path, anc)? {
                anc.push(n);
                for c in &n.children {
                    go(c, &child_path(path, &c.name), anc, f)?;
                }
                anc.pop();
            }
            Ok(())
        }
        go(&self.root, "/", &mut Vec::new(), f)
    }

    /// Paths of the nodes whose `compatible` lists `c`, in document order.
    pub fn compatible_nodes(&self, c: &str) -> Vec<String> {
        let mut out = Vec::new();
        let _ = self.visit::<(), _>(&mut |n, path, _| {
            if n.is_compatible(c) {
                out.push(path.to_string());
            }
            Ok(true)
        });
        out
    }

    /// The PSCI conduit (`"hvc"` or `"smc"`): `method` of the first node
    /// compatible with `arm,psci*`, else of `/psci`.
    pub fn psci_method(&self) -> Option<&str> {
        let mut found = None;
        let _ = self.visit::<(), _>(&mut |n, _, _| {
            if found.is_none() && n.compatible().iter().any(|c| c.starts_with("arm,psci")) {
                found = Some(n);
            }
            Ok(found.is_none())
        });
        found.or_else(|| self.node("/psci"))?.prop_str("method")
    }

    /// Nodes by phandle, with their paths.
    fn phandles(&self) -> BTreeMap<u32, (String, &Node)> {
        let mut map = BTreeMap::new();
        let _ = self.visit::<(), _>(&mut |n, path, _| {
            if let Some(p) = n.phandle() {
                map.entry(p).or_insert((path.to_string(), n));
            }
            Ok(true)
        });
        map
    }

    /// The devices: every node with `reg` or `interrupts`, depth-first in
    /// document order, except the root, memory nodes (`/memory*` or
    /// `device_type = "memory"`), `/reserved-memory` and `/cpus` with
    /// their children. See [`Device`] for how `reg` is translated.
    /// Interrupts must name a GIC (three cells) as their interrupt parent.
    pub fn devices(&self) -> Result<Vec<Device>, DtError> {
        let phandles = self.phandles();
        let mut out = Vec::new();
        self.visit(&mut |n, path, anc| {
            let top = anc.len() == 1;
            if anc.is_empty() {
                return Ok(true);
            }
            if top && (n.name == "cpus" || n.name == "reserved-memory") {
                return Ok(false);
            }
            if top
                && (n.name.split('@').next() == Some("memory")
                    || n.prop_str("device_type") == Some("memory"))
            {
                return Ok(true);
            }
            if n.prop("interrupts-extended").is_some() {
                return Err(node_err(path, "interrupts-extended is not supported"));
            }
            if n.prop("reg").is_none() && n.prop("interrupts").is_none() {
                return Ok(true);
            }
            let regs = reg_of(n, path, anc)?;
            let irqs = match n.prop("interrupts") {
                Some(v) => decode_interrupts(v, n, path, anc, &phandles)?,
                None => Vec::new(),
            };
            out.push(Device {
                path: path.to_string(),
                compatible: n.compatible(),
                mapped: regs.is_some(),
                regs: regs.unwrap_or_default(),
                irqs,
                enabled: n.is_enabled(),
            });
            Ok(true)
        })?;
        Ok(out)
    }

    /// The GICv2: the first node compatible with one of
    /// [`GICV2_COMPATIBLES`]; its first two `reg` entries are the
    /// distributor and the CPU interface.
    pub fn gic(&self) -> Result<Gic, DtError> {
        let mut found: Option<Result<Gic, DtError>> = None;
        self.visit::<DtError, _>(&mut |n, path, anc| {
            if found.is_some() {
                return Ok(false);
            }
            if n.is_compatible("arm,gic-v3") {
                found = Some(Err(DtError::GicV3 { path: path.to_string() }));
            } else if GICV2_COMPATIBLES.iter().any(|c| n.is_compatible(c)) {
                found = Some((|| {
                    let regs =
                        reg_of(n, path, anc)?.ok_or_else(|| node_err(path, "reg is not memory-mapped"))?;
                    if regs.len() < 2 {
                        return Err(node_err(
                            path,
                            format!(
                                "reg has {} entries; a GIC needs the distributor and the CPU interface",
                                regs.len()
                            ),
                        ));
                    }
                    Ok(Gic {
                        path: path.to_string(),
                        dist: regs[0],
                        cpu: regs[1],
                        phandle: n.phandle(),
                    })
                })());
            }
            Ok(true)
        })?;
        found.unwrap_or(Err(DtError::NoGic))
    }
}

/// The components of an absolute path (none for `/`).
fn components(path: &str) -> Option<impl Iterator<Item = &str>> {
    let rest = path.strip_prefix('/')?;
    Some(rest.split('/').filter(|c| !c.is_empty()))
}

/// Parses the structure block `[start, end)` into the root node.
fn parse_struct(
    blob: &[u8],
    start: usize,
    end: usize,
    off_strings: usize,
    size_strings: usize,
) -> Result<Node, DtError> {
    let r = Reader { blob: &blob[..end] };
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut at = start;
    loop {
        let token = r.u32(at, "a token (the structure block ends early)")?;
        let token_at = at;
        at += 4;
        match token {
            FDT_NOP => {}
            FDT_BEGIN_NODE => {
                if root.is_some() {
                    return Err(blob_err(token_at, "a second root node"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(blob_err(
                        token_at,
                        format!("nodes nested deeper than {MAX_DEPTH}"),
                    ));
                }
                let name = c_str(blob, at, end, "node name")?;
                at = align4(at + name.len() + 1);
                stack.push(Node::new(&name));
            }
            FDT_END_NODE => {
                let n = stack
                    .pop()
                    .ok_or_else(|| blob_err(token_at, "FDT_END_NODE without an open node"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            FDT_PROP => {
                let len = r.u32(at, "property length")? as usize;
                let nameoff = r.u32(at + 4, "property name offset")? as usize;
                at += 8;
                let node = stack
                    .last_mut()
                    .ok_or_else(|| blob_err(token_at, "a property outside any node"))?;
                if nameoff >= size_strings {
                    return Err(blob_err(
                        token_at + 8,
                        format!(
                            "property name offset {nameoff:#x} lies outside the {size_strings:#x}-byte strings block"
                        ),
                    ));
                }
                let name = c_str(
                    blob,
                    off_strings + nameoff,
                    off_strings + size_strings,
                    "property name",
                )?;
                let value = at
                    .checked_add(len)
                    .filter(|&e| e <= end)
                    .map(|e| &blob[at..e])
                    .ok_or_else(|| {
                        blob_err(
                            token_at,
                            format!("property {name} ({len} bytes) runs past the structure block"),
                        )
                    })?;
                node.props.push((name, value.to_vec()));
                at = align4(at + len);
            }
            FDT_END => {
                if let Some(open) = stack.last() {
                    return Err(blob_err(token_at, format!("FDT_END inside node {:?}", open.name)));
                }
                return root.ok_or_else(|| blob_err(token_at, "FDT_END before any node"));
            }
            t => return Err(blob_err(token_at, format!("unknown token {t:#x}"))),
        }
    }
}

fn write_node<'a>(
    n: &'a Node,
    st: &mut Vec<u8>,
    strings: &mut Vec<u8>,
    offsets: &mut BTreeMap<&'a str, u32>,
) {
    st.extend_from_slice(&FDT_BEGIN_NODE.to_be_bytes());
    st.extend_from_slice(n.name.as_bytes());
    st.push(0);
    st.resize(align4(st.len()), 0);
    for (name, value) in &n.props {
        let off = *offsets.entry(name.as_str()).or_insert_with(|| {
            let off = strings.len() as u32;
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            off
        });
        st.extend_from_slice(&FDT_PROP.to_be_bytes());
        st.extend_from_slice(&(value.len() as u32).to_be_bytes());
        st.extend_from_slice(&off.to_be_bytes());
        st.extend_from_slice(value);
        st.resize(align4(st.len()), 0);
    }
    for c in &n.children {
        write_node(c, st, strings, offsets);
    }
    st.extend_from_slice(&FDT_END_NODE.to_be_bytes());
}

/// `reg` of node `n` as `(base, size)` pairs in the root's address space,
/// or `None` when it does not translate there (see [`Device::mapped`]).
/// `anc` runs from the root to the node's parent.
fn reg_of(n: &Node, path: &str, anc: &[&Node]) -> Result<Option<Vec<(u64, u64)>>, DtError> {
    let Some(reg) = n.prop("reg") else { return Ok(Some(Vec::new())) };
    let parent = anc.last().expect("the root has no reg to translate");
    let (ac, sc) = (parent.address_cells(), parent.size_cells());
    let entry = (ac + sc) as usize * 4;
    if entry == 0 || reg.len() % entry != 0 {
        return Err(node_err(
            path,
            format!(
                "reg is {} bytes, not a multiple of {entry} (#address-cells {ac}, #size-cells {sc} of the parent)",
                reg.len()
            ),
        ));
    }
    if ac > 2 || sc > 2 {
        return Ok(None);
    }
    let mut regs: Vec<(u64, u64)> = reg
        .chunks(entry)
        .map(|e| (read_cells(e, ac), read_cells(&e[ac as usize * 4..], sc)))
        .collect();
    // Translate through each bus below the root, innermost first.
    for i in (1..anc.len()).rev() {
        let (bus, above) = (anc[i], anc[i - 1]);
        let Some(ranges) = bus.prop("ranges") else { return Ok(None) };
        if ranges.is_empty() {
            continue;
        }
        let (cac, pac, cs) = (bus.address_cells(), above.address_cells(), bus.size_cells());
        if cac > 2 || pac > 2 || cs > 2 {
            return Ok(None);
        }
        let triplet = (cac + pac + cs) as usize * 4;
        if triplet == 0 || ranges.len() % triplet != 0 {
            return Err(node_err(
                &path_of(anc, i),
                format!(
                    "ranges is {} bytes, not a multiple of {triplet} (child {cac}, parent {pac}, size {cs} cells)",
                    ranges.len()
                ),
            ));
        }
        let windows: Vec<(u64, u64, u64)> = ranges
            .chunks(triplet)
            .map(|t| {
                let child = read_cells(t, cac);
                let parent = read_cells(&t[cac as usize * 4..], pac);
                let size = read_cells(&t[(cac + pac) as usize * 4..], cs);
                (child, parent, size)
            })
            .collect();
        for r in regs.iter_mut() {
            let (addr, size) = *r;
            let hit = windows.iter().find(|&&(c, _, s)| {
                addr >= c && addr.wrapping_sub(c).checked_add(size).is_some_and(|e| e <= s)
            });
            match hit {
                Some(&(c, p, _)) => r.0 = p.wrapping_add(addr - c),
                None => return Ok(None),
            }
        }
    }
    Ok(Some(regs))
}

/// The path of `anc[i]`, rebuilt from the names.
fn path_of(anc: &[&Node], i: usize) -> String {
    let mut p = String::from("/");
    for n in &anc[1..=i] {
        p = child_path(&p, &n.name);
    }
    p
}

/// Decodes `interrupts` of `n` with its interrupt parent, which must be a
/// GIC with three interrupt cells.
fn decode_interrupts(
    v: &[u8],
    n: &Node,
    path: &str,
    anc: &[&Node],
    phandles: &BTreeMap<u32, (String, &Node)>,
) -> Result<Vec<Irq>, DtError> {
    let phandle = core::iter::once(n)
        .chain(anc.iter().rev().copied())
        .find_map(|a| a.prop("interrupt-parent"))
        .ok_or_else(|| node_err(path, "has interrupts but no interrupt-parent (on it or above)"))?;
    let phandle = match phandle {
        [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return Err(node_err(path, "interrupt-parent is not one cell")),
    };
    let (ppath, parent) = phandles
        .get(&phandle)
        .ok_or_else(|| DtError::UnknownPhandle { path: path.to_string(), phandle })?;
    let cells = parent.prop_u32("#interrupt-cells");
    if !GIC_COMPATIBLES.iter().any(|c| parent.is_compatible(c)) || cells != Some(3) {
        return Err(node_err(
            path,
            format!(
                "interrupt parent {ppath} is not a GIC with #interrupt-cells = <3> \
                 (compatible {:?}, #interrupt-cells {cells:?})",
                parent.compatible()
            ),
        ));
    }
    if !v.len().is_multiple_of(12) {
        return Err(node_err(
            path,
            format!("interrupts is {} bytes, not a multiple of 12 (3 cells)", v.len()),
        ));
    }
    v.chunks(12)
        .map(|c| {
            let cell =
                |i: usize| u32::from_be_bytes([c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]]);
            let (ty, num, flags) = (cell(0), cell(1), cell(2));
            let (kind, intid) = match ty {
                0 if num < 988 => (IrqKind::Spi, 32 + num),
                1 if num < 16 => (IrqKind::Ppi, 16 + num),
                _ => {
                    return Err(node_err(
                        path,
                        format!(
                            "interrupt <{ty} {num} {flags:#x}> is neither SPI 0-987 nor PPI 0-15"
                        ),
                    ));
                }
            };
            let trigger = match flags & 0xf {
                0 => Trigger::None,
                1 => Trigger::EdgeRising,
                2 => Trigger::EdgeFalling,
                4 => Trigger::LevelHigh,
                8 => Trigger::LevelLow,
                t => {
                    return Err(node_err(
                        path,
                        format!(
                            "interrupt <{ty} {num} {flags:#x}> has an invalid trigger type {t:#x}"
                        ),
                    ));
                }
            };
            Ok(Irq { intid, kind, trigger })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIRT: &[u8] = include_bytes!("../tests/data/virt.dtb");
    const BUSES: &[u8] = include_bytes!("../tests/data/buses.dtb");

    fn spi(n: u32, trigger: Trigger) -> Irq {
        Irq { intid: 32 + n, kind: IrqKind::Spi, trigger }
    }

    fn ppi(n: u32, trigger: Trigger) -> Irq {
        Irq { intid: 16 + n, kind: IrqKind::Ppi, trigger }
    }

    /// Runs dtc on a blob, if dtc is installed: its DTS output.
    fn dtc_decompile(blob: &[u8]) -> Option<String> {
        use std::process::Command;
        let file = std::env::temp_dir().join(format!(
            "vmm-dt-test-{}-{:08x}.dtb",
            std::process::id(),
            crate::image::crc32(blob)
        ));
        std::fs::write(&file, blob).unwrap();
        let out = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&file).output();
        let _ = std::fs::remove_file(&file);
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                println!("dtc not run ({e}); skipping the dtc check");
                return None;
            }
        };
        assert!(out.status.success(), "dtc failed: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn parses_a_dtc_blob() {
        let t = Tree::parse(VIRT).unwrap();
        assert_eq!(t.reserved, vec![(0x4800_0000, 0x10_0000)]);
        assert_eq!(t.prop("/", "compatible"), Some(&b"linux,dummy-virt\0"[..]));
        assert_eq!(t.node("/chosen").unwrap().prop_str("stdout-path"), Some("/pl011@9000000"));
        assert_eq!(t.node("/pl031@9010000").unwrap().compatible(), ["arm,pl031", "arm,primecell"]);
        assert_eq!(t.node("/pl031").unwrap().name, "pl031@9010000");
        assert_eq!(t.node("/cpus/cpu@0").unwrap().prop_u32("reg"), Some(0));
        assert_eq!(t.node("/intc@8000000/v2m@8020000").unwrap().phandle(), Some(0x8002));
        assert!(t.node("/nothing").is_none());
        assert!(t.node("relative").is_none());
        assert_eq!(t.prop("/timer", "always-on"), Some(&[][..]));
    }

    #[test]
    fn round_trip() {
        for blob in [VIRT, BUSES] {
            let t = Tree::parse(blob).unwrap();
            let out = t.to_blob();
            assert_eq!(Tree::parse(&out).unwrap(), t);
            // Names are stored once.
            let r = Reader { blob: &out };
            let (off, size) = (r.u32(12, "").unwrap() as usize, r.u32(32, "").unwrap() as usize);
            let names: Vec<&[u8]> = out[off..off + size].split(|&b| b == 0).collect();
            let mut dedup = names[..names.len() - 1].to_vec();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), names.len() - 1);
            if let Some(dts) = dtc_decompile(&out) {
                assert!(dts.contains("pl011@9000000") || dts.contains("serial@20000"), "{dts}");
            }
        }
    }

    #[test]
    fn edits_survive_dtc() {
        let mut t = Tree::parse(VIRT).unwrap();
        t.set_memory(0x4000_0000, 0x2000_0000).unwrap();
        t.set_chosen(Some("console=ttyAMA0 earlycon"), Some((0x5000_0000, 0x5080_0000))).unwrap();
        t.disable("/pl061@9030000").unwrap();
        let out = t.to_blob();
        if let Some(dts) = dtc_decompile(&out) {
            assert!(dts.contains("bootargs = \"console=ttyAMA0 earlycon\";"), "{dts}");
            assert!(dts.contains("linux,initrd-start = <0x00 0x50000000>;"), "{dts}");
            assert!(dts.contains("reg = <0x00 0x40000000 0x00 0x20000000>;"), "{dts}");
            assert!(dts.contains("status = \"disabled\";"), "{dts}");
        }
    }

    #[test]
    fn set_memory_rewrites_or_creates() {
        let mut t = Tree::parse(VIRT).unwrap();
        assert_eq!(t.memory_base(), Some(0x4000_0000));
        assert_eq!(Tree::parse(BUSES).unwrap().memory_base(), Some(0x8000_0000));
        assert_eq!(Tree::new().memory_base(), None);
        t.set_memory(0x4000_0000, 0x1_0000_0000).unwrap();
        let m = t.node("/memory@40000000").unwrap();
        assert_eq!(m.prop("reg"), Some(&[0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0][..]));
        // Two memory nodes become one, renamed to the new base.
        let mut extra = Node::new("memory@80000000");
        extra.set_prop("device_type", &string_prop("memory"));
        t.root.children.push(extra);
        t.set_memory(0x8000_0000, 0x100_0000).unwrap();
        assert_eq!(t.memory_base(), Some(0x8000_0000));
        let mems: Vec<_> =
            t.root.children.iter().filter(|n| n.name.starts_with("memory")).collect();
        assert_eq!(mems.len(), 1);
        assert_eq!(mems[0].name, "memory@80000000");
        // One-cell addresses and sizes, created when missing.
        let mut t = Tree::new();
        t.root.set_prop("#address-cells", &1u32.to_be_bytes());
        t.root.set_prop("#size-cells", &1u32.to_be_bytes());
        t.set_memory(0x8000_0000, 0x1000_0000).unwrap();
        assert_eq!(t.prop("/memory@80000000", "reg"), Some(&[0x80, 0, 0, 0, 0x10, 0, 0, 0][..]));
        assert_eq!(t.node("/memory").unwrap().prop_str("device_type"), Some("memory"));
        let e = t.set_memory(0x1_0000_0000, 0x1000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "device tree node /: memory base 0x100000000 does not fit in 1 cell(s)"
        );
    }

    #[test]
    fn set_chosen_creates_and_clears() {
        let mut t = Tree::new();
        t.set_chosen(Some("quiet"), Some((0x4800_0000, 0x4810_0000))).unwrap();
        let c = t.node("/chosen").unwrap();
        assert_eq!(c.prop_str("bootargs"), Some("quiet"));
        assert_eq!(c.prop("linux,initrd-start"), Some(&0x4800_0000u64.to_be_bytes()[..]));
        assert_eq!(c.prop("linux,initrd-end"), Some(&0x4810_0000u64.to_be_bytes()[..]));
        t.set_chosen(None, None).unwrap();
        let c = t.node("/chosen").unwrap();
        assert_eq!(c.prop_str("bootargs"), Some("quiet"));
        assert!(c.prop("linux,initrd-start").is_none());
        assert_eq!(t.root.children.len(), 1);
    }

    #[test]
    fn props_and_nodes() {
        let mut t = Tree::parse(VIRT).unwrap();
        t.set_prop("/pl011@9000000", "x", b"1").unwrap();
        assert_eq!(t.prop("/pl011", "x"), Some(&b"1"[..]));
        assert!(t.remove_prop("/pl011", "x").unwrap());
        assert!(!t.remove_prop("/pl011", "x").unwrap());
        assert_eq!(t.set_prop("/nope", "x", b""), Err(DtError::NoNode { path: "/nope".into() }));
        assert_eq!(
            t.disable("/nope").unwrap_err().to_string(),
            "the device tree has no node /nope"
        );
        t.ensure_node("/a/b@1").unwrap().set_prop("y", b"2");
        assert_eq!(t.prop("/a/b", "y"), Some(&b"2"[..]));
        assert_eq!(t.remove_node("/a/b@1").unwrap().name, "b@1");
        assert!(t.node("/a/b").is_none());
        assert!(t.remove_node("/").is_err());
        assert!(t.node("/pl031@9010000").unwrap().is_enabled());
        t.disable("/pl031").unwrap();
        assert!(!t.node("/pl031@9010000").unwrap().is_enabled());
        assert_eq!(t.prop("/pl031", "status"), Some(&b"disabled\0"[..]));
    }

    #[test]
    fn virt_devices() {
        let t = Tree::parse(VIRT).unwrap();
        let devs = t.devices().unwrap();
        let paths: Vec<&str> = devs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/fw-cfg@9020000",
                "/virtio_mmio@a000200",
                "/virtio_mmio@a000000",
                "/pl061@9030000",
                "/pl031@9010000",
                "/pl011@9000000",
                "/pmu",
                "/intc@8000000",
                "/intc@8000000/v2m@8020000",
                "/flash@0",
                "/timer",
            ]
        );
        let by = |p: &str| devs.iter().find(|d| d.path == p).unwrap();
        let uart = by("/pl011@9000000");
        assert_eq!(uart.regs, [(0x900_0000, 0x1000)]);
        assert_eq!(uart.irqs, [spi(1, Trigger::LevelHigh)]);
        assert_eq!(uart.compatible, ["arm,pl011", "arm,primecell"]);
        assert!(uart.enabled && uart.mapped);
        assert_eq!(by("/pl031@9010000").irqs, [spi(2, Trigger::LevelHigh)]);
        assert_eq!(by("/virtio_mmio@a000000").irqs, [spi(16, Trigger::EdgeRising)]);
        assert!(!by("/virtio_mmio@a000200").enabled);
        assert_eq!(
            by("/timer").irqs,
            [
                ppi(13, Trigger::LevelHigh),
                ppi(14, Trigger::LevelHigh),
                ppi(11, Trigger::LevelHigh),
                ppi(10, Trigger::LevelHigh)
            ]
        );
        assert!(by("/timer").regs.is_empty());
        assert_eq!(by("/intc@8000000/v2m@8020000").regs, [(0x802_0000, 0x1000)]);
        assert_eq!(by("/flash@0").regs, [(0, 0x400_0000), (0x400_0000, 0x400_0000)]);
    }

    #[test]
    fn bus_translation() {
        let t = Tree::parse(BUSES).unwrap();
        let devs = t.devices().unwrap();
        let by = |p: &str| {
            devs.iter().find(|d| d.path == p).unwrap_or_else(|| panic!("{p} not in {devs:#?}"))
        };
        let gic = by("/interrupt-controller@2c001000");
        assert_eq!(gic.regs, [(0x2c00_1000, 0x1000), (0x2c00_2000, 0x2000)]);
        let serial = by("/soc/serial@20000");
        assert_eq!(serial.regs, [(0x1002_0000, 0x100)]);
        assert_eq!(serial.irqs, [spi(5, Trigger::EdgeRising)]);
        let dev = by("/soc/dev@4000100");
        assert_eq!(dev.regs, [(0x1_0000_0100, 0x100)]);
        assert_eq!(dev.irqs, [spi(6, Trigger::LevelLow), ppi(3, Trigger::EdgeFalling)]);
        let leaf = by("/soc/bridge@30000/leaf@100");
        assert_eq!(leaf.regs, [(0x1003_0100, 0x10)]);
        assert!(!leaf.enabled && leaf.mapped);
        assert_eq!(by("/soc/i2c@40000").irqs, [spi(7, Trigger::LevelHigh)]);
        let rtc = by("/soc/i2c@40000/rtc@68");
        assert!(!rtc.mapped && rtc.regs.is_empty());
        assert_eq!(by("/default-cells/child@0").regs, [(0x5000_0000, 0x1000)]);
        assert!(!by("/outside/miss@2000").mapped);
        assert!(devs.iter().all(|d| !d.path.starts_with("/memory")
            && !d.path.starts_with("/reserved-memory")
            && !d.path.starts_with("/cpus")));
        assert_eq!(devs.len(), 8);
        assert_eq!(t.gic().unwrap().dist, (0x2c00_1000, 0x1000));
        assert_eq!(t.psci_method(), Some("smc"));
    }

    #[test]
    fn gic_psci_compatible() {
        let t = Tree::parse(VIRT).unwrap();
        assert_eq!(
            t.gic().unwrap(),
            Gic {
                path: "/intc@8000000".into(),
                dist: (0x800_0000, 0x1_0000),
                cpu: (0x801_0000, 0x1_0000),
                phandle: Some(0x8001),
            }
        );
        assert_eq!(t.psci_method(), Some("hvc"));
        assert_eq!(
            t.compatible_nodes("arm,primecell"),
            ["/pl061@9030000", "/pl031@9010000", "/pl011@9000000"]
        );
        assert!(t.compatible_nodes("arm,nothing").is_empty());

        let mut v3 = t.clone();
        v3.set_prop("/intc@8000000", "compatible", b"arm,gic-v3\0").unwrap();
        let e = v3.gic().unwrap_err();
        assert_eq!(
            e.to_string(),
            "GICv3 guest device trees are not supported (node /intc@8000000)"
        );
        let mut none = t.clone();
        none.remove_node("/intc@8000000").unwrap();
        assert_eq!(none.gic(), Err(DtError::NoGic));
        let mut short = t.clone();
        short
            .set_prop("/intc@8000000", "reg", &[0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap();
        assert!(short.gic().unwrap_err().to_string().contains("reg has 1 entries"));

        let mut nopsci = t.clone();
        nopsci.set_prop("/psci", "compatible", b"vendor,thing\0").unwrap();
        assert_eq!(nopsci.psci_method(), Some("hvc"));
        nopsci.remove_node("/psci").unwrap();
        assert_eq!(nopsci.psci_method(), None);
    }

    #[test]
    fn interrupt_errors() {
        let t = Tree::parse(VIRT).unwrap();

        let mut x = t.clone();
        x.set_prop(
            "/pl031@9010000",
            "interrupts-extended",
            &[0, 0, 0x80, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4],
        )
        .unwrap();
        assert_eq!(
            x.devices().unwrap_err().to_string(),
            "device tree node /pl031@9010000: interrupts-extended is not supported"
        );

        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "interrupt-parent", &0x1234u32.to_be_bytes()).unwrap();
        assert_eq!(
            x.devices().unwrap_err(),
            DtError::UnknownPhandle { path: "/pl031@9010000".into(), phandle: 0x1234 }
        );

        // The fixed clock is not an interrupt controller.
        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "interrupt-parent", &0x8000u32.to_be_bytes()).unwrap();
        let e = x.devices().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "device tree node /pl031@9010000: interrupt parent /apb-pclk is not a GIC"
            ),
            "{e}"
        );

        let mut x = t.clone();
        x.remove_prop("/", "interrupt-parent").unwrap();
        let e = x.devices().unwrap_err().to_string();
        assert!(e.contains("/virtio_mmio@a000200: has interrupts but no interrupt-parent"), "{e}");

        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "interrupts", &[0, 0, 0, 2, 0, 0, 0, 4]).unwrap();
        assert!(x.devices().unwrap_err().to_string().contains("not a multiple of 12"));

        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "interrupts", &[0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 4]).unwrap();
        assert!(x.devices().unwrap_err().to_string().contains("neither SPI 0-987 nor PPI 0-15"));

        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "interrupts", &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3]).unwrap();
        assert!(x.devices().unwrap_err().to_string().contains("invalid trigger type 0x3"));

        let mut x = t.clone();
        x.set_prop("/pl031@9010000", "reg", &[0; 12]).unwrap();
        let e = x.devices().unwrap_err().to_string();
        assert!(e.contains("/pl031@9010000: reg is 12 bytes, not a multiple of 16"), "{e}");
    }

    fn header(t: &Tree) -> Vec<u8> {
        t.to_blob()
    }

    fn put(blob: &mut [u8], at: usize, v: u32) {
        blob[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    #[test]
    fn malformed_blobs_name_the_offset() {
        let t = Tree::parse(VIRT).unwrap();
        let good = header(&t);
        let err = |b: &[u8]| Tree::parse(b).unwrap_err();

        assert_eq!(
            err(&good[..3]).to_string(),
            "device tree blob: the header lies beyond the end of the blob (at offset 0x0)"
        );
        let mut b = good.clone();
        b[0] = 0;
        assert_eq!(
            err(&b).to_string(),
            "device tree blob: bad magic 0x000dfeed, expected 0xd00dfeed (at offset 0x0)"
        );
        let mut b = good.clone();
        put(&mut b, 20, 15);
        assert!(matches!(err(&b), DtError::Blob { offset: 20, .. }));
        let mut b = good.clone();
        put(&mut b, 4, good.len() as u32 + 1);
        assert!(matches!(err(&b), DtError::Blob { offset: 4, .. }));
        let mut b = good.clone();
        put(&mut b, 8, good.len() as u32);
        assert!(matches!(err(&b), DtError::Blob { offset: 8, .. }));
        let mut b = good.clone();
        put(&mut b, 32, good.len() as u32);
        assert!(matches!(err(&b), DtError::Blob { offset: 12, .. }));

        // The first token after the reservation block.
        let off_struct = u32::from_be_bytes(good[8..12].try_into().unwrap()) as usize;
        let mut b = good.clone();
        put(&mut b, off_struct, 7);
        assert_eq!(err(&b), DtError::Blob { offset: off_struct, what: "unknown token 0x7".into() });
        // The first property's name offset.
        let first_prop = off_struct + 8;
        assert_eq!(u32::from_be_bytes(b[first_prop..first_prop + 4].try_into().unwrap()), FDT_PROP);
        let mut b = good.clone();
        put(&mut b, first_prop + 8, 0xffff);
        assert!(matches!(err(&b), DtError::Blob { offset, .. } if offset == first_prop + 8));
        // A property longer than the structure block.
        let mut b = good.clone();
        put(&mut b, first_prop + 4, 0x10_0000);
        assert!(matches!(err(&b), DtError::Blob { offset, .. } if offset == first_prop));
        // The structure block cut before its end.
        let mut b = good.clone();
        let size_struct = u32::from_be_bytes(good[36..40].try_into().unwrap());
        put(&mut b, 36, size_struct - 8);
        assert!(matches!(err(&b), DtError::Blob { .. }));
        // The reservation block without its terminator.
        let mut b = good.clone();
        let n = b.len();
        put(&mut b, 16, n as u32 - 8);
        assert!(matches!(err(&b), DtError::Blob { .. }));
    }

    #[test]
    fn version_16_and_nops() {
        // A version 16 blob has no size_dt_struct; NOPs are skipped.
        let mut t = Tree::new();
        t.root.set_prop("a", b"x\0");
        t.ensure_node("/n@1").unwrap();
        let mut b = t.to_blob();
        put(&mut b, 20, 16);
        assert_eq!(Tree::parse(&b).unwrap(), t);
        let off_struct = u32::from_be_bytes(b[8..12].try_into().unwrap()) as usize;
        let mut with_nop = b[..off_struct].to_vec();
        with_nop.extend_from_slice(&FDT_NOP.to_be_bytes());
        with_nop.extend_from_slice(&b[off_struct..]);
        let n = with_nop.len() as u32;
        put(&mut with_nop, 4, n);
        let off_strings = u32::from_be_bytes(with_nop[12..16].try_into().unwrap());
        put(&mut with_nop, 12, off_strings + 4);
        assert_eq!(Tree::parse(&with_nop).unwrap(), t);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut t = Tree::new();
        let path: String = (0..MAX_DEPTH + 1).map(|i| format!("/n{i}")).collect();
        t.ensure_node(&path).unwrap();
        let e = Tree::parse(&t.to_blob()).unwrap_err();
        assert!(e.to_string().contains("nested deeper than 64"), "{e}");
    }
}
