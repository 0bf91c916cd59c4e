//! The reference model: slots of one CNode holding abstract caps, each with
//! a link to its parent in the derivation forest, and the seL4 rules for
//! the CNode and Untyped invocations on them.
//!
//! Addresses are resolved as through a root CNode of `2^radix` slots whose
//! guard takes up the rest of the 64 bits (the root task's CNode), so only
//! `(index < 2^radix, depth 64)` names a slot. The model tracks a window of
//! those slots; operations only name slots in the window (or addresses that
//! fail to resolve), and objects are carved from one untyped in the window.
//! Retype may also fill the slots of CNodes it made, so that deleting the
//! last cap to a CNode destroys the caps inside it.

use sel4_sys::object::{ENDPOINT_BITS, NOTIFICATION_BITS, SLOT_BITS};
use sel4_sys::{Error, ObjectType};
use std::collections::BTreeMap;

/// Most objects one Retype may create (seL4's
/// `CONFIG_RETYPE_FAN_OUT_LIMIT`).
pub const FAN_OUT_LIMIT: u64 = 256;
/// Smallest untyped, log2 bytes.
pub const MIN_UNTYPED_BITS: u64 = 4;
/// Largest untyped, log2 bytes.
pub const MAX_UNTYPED_BITS: u64 = 47;
/// Write right.
pub const WRITE: u64 = 1;
/// Read right.
pub const READ: u64 = 2;
/// Every right an endpoint cap may have.
pub const ALL_RIGHTS: u64 = 0xf;
/// Marks the key of a slot inside a retyped CNode (see [`sub_key`]).
pub const SUB: u64 = 1 << 63;

/// The model's key for slot `i` of the CNode object at `ptr` (root slots
/// are keyed by their index).
pub fn sub_key(ptr: u64, i: u64) -> u64 {
    SUB | (ptr + (i << SLOT_BITS))
}

/// An abstract capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ACap {
    /// Untyped memory `[base, base + 2^size_bits)`, free from `base + free`.
    Untyped { base: u64, size_bits: u64, free: u64 },
    /// An endpoint at `ptr`.
    Endpoint { ptr: u64, badge: u64, rights: u64 },
    /// A notification at `ptr`.
    Notification { ptr: u64, badge: u64, rights: u64 },
    /// A CNode of `2^radix` slots at `ptr`.
    CNode { ptr: u64, radix: u64, guard_size: u64, guard: u64 },
}

impl ACap {
    /// The object's first byte and size in bytes.
    pub fn region(&self) -> (u64, u64) {
        match *self {
            ACap::Untyped { base, size_bits, .. } => (base, 1 << size_bits),
            ACap::Endpoint { ptr, .. } => (ptr, 1 << ENDPOINT_BITS),
            ACap::Notification { ptr, .. } => (ptr, 1 << NOTIFICATION_BITS),
            ACap::CNode { ptr, radix, .. } => (ptr, 1 << (radix + SLOT_BITS as u64)),
        }
    }

    /// The badge (0 for caps without one).
    pub fn badge(&self) -> u64 {
        match *self {
            ACap::Endpoint { badge, .. } | ACap::Notification { badge, .. } => badge,
            _ => 0,
        }
    }

    /// Whether `b`'s object is this cap's object, or inside this untyped.
    fn same_region(&self, b: &ACap) -> bool {
        match (*self, *b) {
            (ACap::Untyped { .. }, b) => {
                let (a0, an) = self.region();
                let (b0, bn) = b.region();
                a0 <= b0 && b0 + bn <= a0 + an
            }
            (ACap::Endpoint { ptr: a, .. }, ACap::Endpoint { ptr: b, .. })
            | (ACap::Notification { ptr: a, .. }, ACap::Notification { ptr: b, .. }) => a == b,
            (ACap::CNode { ptr: a, radix: ra, .. }, ACap::CNode { ptr: b, radix: rb, .. }) => {
                a == b && ra == rb
            }
            _ => false,
        }
    }

    /// Whether `b` names exactly this cap's object (never for untypeds).
    pub fn same_object(&self, b: &ACap) -> bool {
        !matches!(self, ACap::Untyped { .. }) && self.same_region(b)
    }

    fn mask_rights(self, mask: u64) -> ACap {
        match self {
            ACap::Endpoint { ptr, badge, rights } => {
                ACap::Endpoint { ptr, badge, rights: rights & mask & ALL_RIGHTS }
            }
            ACap::Notification { ptr, badge, rights } => {
                ACap::Notification { ptr, badge, rights: rights & mask & (READ | WRITE) }
            }
            c => c,
        }
    }

    /// seL4's `updateCapData`: a badge for an unbadged endpoint or
    /// notification when not preserving, a guard for a CNode.
    fn update_data(self, preserve: bool, data: u64) -> Option<ACap> {
        match self {
            ACap::Endpoint { ptr, badge: 0, rights } if !preserve => {
                Some(ACap::Endpoint { ptr, badge: data, rights })
            }
            ACap::Notification { ptr, badge: 0, rights } if !preserve => {
                Some(ACap::Notification { ptr, badge: data, rights })
            }
            ACap::Endpoint { .. } | ACap::Notification { .. } => None,
            ACap::CNode { ptr, radix, .. } => {
                let guard_size = data & 0x3f;
                if guard_size + radix > 64 {
                    return None;
                }
                let guard = (data >> 6) & ((1u64 << guard_size).wrapping_sub(1));
                Some(ACap::CNode { ptr, radix, guard_size, guard })
            }
            c => Some(c),
        }
    }
}

/// A slot's content: the cap and its place in the derivation forest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// The cap.
    pub cap: ACap,
    /// The slot of its parent, if any.
    pub parent: Option<u64>,
    /// Whether it may have children (an original cap).
    pub revocable: bool,
    /// Whether it is the first cap with its badge.
    pub first_badged: bool,
}

/// The operations the model and the runner know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Retype from the untyped in slot `ut` into the node `(index, depth)`
    /// (depth 0: the root itself) at `offset`.
    Retype { ut: u64, ty: u64, size: u64, index: u64, depth: u64, offset: u64, num: u64 },
    /// Copy `(src, src_depth)` to `(dest, depth)` with `rights`.
    Copy { dest: u64, depth: u64, src: u64, src_depth: u64, rights: u64 },
    /// Mint with `rights` and `badge`.
    Mint { dest: u64, depth: u64, src: u64, src_depth: u64, rights: u64, badge: u64 },
    /// Move.
    Move { dest: u64, depth: u64, src: u64, src_depth: u64 },
    /// Move with new data.
    Mutate { dest: u64, depth: u64, src: u64, src_depth: u64, data: u64 },
    /// Delete `(slot, depth)`.
    Delete { slot: u64, depth: u64 },
    /// Revoke `(slot, depth)`.
    Revoke { slot: u64, depth: u64 },
}

/// The model's state: slot contents by index.
#[derive(Clone, Debug)]
pub struct Model {
    /// The root CNode's radix.
    pub radix: u64,
    /// The index of the slot that holds a cap to the root CNode itself.
    pub root_slot: u64,
    /// The tracked slots that hold caps.
    pub slots: BTreeMap<u64, Node>,
}

fn lookup(radix: u64, index: u64, depth: u64) -> Result<u64, Error> {
    if !(1..=64).contains(&depth) {
        return Err(Error::RangeError);
    }
    // Guard bits consume 64 - radix bits; any other depth fails.
    if depth != 64 || index >> radix != 0 {
        return Err(Error::FailedLookup);
    }
    Ok(index)
}

impl Model {
    /// A model of a root CNode of `2^radix` slots whose cap sits in
    /// `root_slot`, with an original untyped in `ut_slot`.
    pub fn new(radix: u64, root_slot: u64, ut_slot: u64, base: u64, size_bits: u64) -> Model {
        let mut slots = BTreeMap::new();
        let cap = ACap::Untyped { base, size_bits, free: 0 };
        slots.insert(ut_slot, Node { cap, parent: None, revocable: true, first_badged: false });
        Model { radix, root_slot, slots }
    }

    /// The cap in `slot`.
    pub fn cap(&self, slot: u64) -> Option<ACap> {
        self.slots.get(&slot).map(|n| n.cap)
    }

    /// seL4's `isMDBParentOf` for a would-be child `b`.
    fn parent_of(&self, a: u64, b: &ACap, b_first_badged: bool) -> bool {
        let n = &self.slots[&a];
        if !n.revocable || !n.cap.same_region(b) {
            return false;
        }
        match n.cap {
            ACap::Endpoint { badge, .. } | ACap::Notification { badge, .. } if badge != 0 => {
                badge == b.badge() && !b_first_badged
            }
            _ => true,
        }
    }

    /// The slots of every descendant of `slot`.
    pub fn descendants(&self, slot: u64) -> Vec<u64> {
        let mut out = vec![];
        let mut todo = vec![slot];
        while let Some(s) = todo.pop() {
            for (&c, n) in &self.slots {
                if n.parent == Some(s) {
                    out.push(c);
                    todo.push(c);
                }
            }
        }
        out
    }

    fn has_children(&self, slot: u64) -> bool {
        self.slots.values().any(|n| n.parent == Some(slot))
    }

    /// Empties `slot`: its children move up to its parent. Deleting the
    /// last cap to a CNode deletes every cap in it.
    fn delete_slot(&mut self, slot: u64) {
        let Some(n) = self.slots.remove(&slot) else { return };
        for c in self.slots.values_mut() {
            if c.parent == Some(slot) {
                c.parent = n.parent;
            }
        }
        if let ACap::CNode { ptr, radix, .. } = n.cap
            && !self.slots.values().any(|o| o.cap.same_object(&n.cap))
        {
            for i in 0..1u64 << radix {
                self.delete_slot(sub_key(ptr, i));
            }
        }
    }

    /// Applies `op` (every CNode operation is on the root CNode, with the
    /// root CNode as source root); the seL4 error on failure.
    pub fn apply(&mut self, op: Op) -> Result<(), Error> {
        match op {
            Op::Retype { ut, ty, size, index, depth, offset, num } => {
                self.retype(ut, ty, size, index, depth, offset, num)
            }
            Op::Copy { dest, depth, src, src_depth, rights } => {
                self.derive(dest, depth, src, src_depth, |c| Some(c.mask_rights(rights)))
            }
            Op::Mint { dest, depth, src, src_depth, rights, badge } => {
                self.derive(dest, depth, src, src_depth, |c| {
                    c.mask_rights(rights).update_data(false, badge)
                })
            }
            Op::Move { dest, depth, src, src_depth } => {
                self.move_cap(dest, depth, src, src_depth, Some)
            }
            Op::Mutate { dest, depth, src, src_depth, data } => {
                self.move_cap(dest, depth, src, src_depth, |c| c.update_data(true, data))
            }
            Op::Delete { slot, depth } => {
                let s = lookup(self.radix, slot, depth)?;
                self.delete_slot(s);
                Ok(())
            }
            Op::Revoke { slot, depth } => {
                let s = lookup(self.radix, slot, depth)?;
                for d in self.descendants(s) {
                    self.delete_slot(d);
                }
                Ok(())
            }
        }
    }

    /// The checks Copy, Mint, Move and Mutate share: the destination and
    /// source slots.
    fn resolve_pair(&self, dest: u64, depth: u64, src: u64, sd: u64) -> Result<(u64, u64), Error> {
        let d = lookup(self.radix, dest, depth)?;
        if self.slots.contains_key(&d) {
            return Err(Error::DeleteFirst);
        }
        let s = lookup(self.radix, src, sd)?;
        if !self.slots.contains_key(&s) {
            return Err(Error::FailedLookup);
        }
        Ok((d, s))
    }

    fn derive(
        &mut self,
        dest: u64,
        depth: u64,
        src: u64,
        sd: u64,
        f: impl Fn(ACap) -> Option<ACap>,
    ) -> Result<(), Error> {
        let (d, s) = self.resolve_pair(dest, depth, src, sd)?;
        let src_cap = self.slots[&s].cap;
        let new = f(src_cap).ok_or(Error::IllegalOperation)?;
        if matches!(src_cap, ACap::Untyped { .. }) && self.has_children(s) {
            return Err(Error::RevokeFirst);
        }
        let revocable = match (new, src_cap) {
            (ACap::Untyped { .. }, _) => true,
            (ACap::Endpoint { .. } | ACap::Notification { .. }, _) => {
                new.badge() != src_cap.badge()
            }
            _ => false,
        };
        let mut parent = Some(s);
        while let Some(p) = parent {
            if self.parent_of(p, &new, revocable) {
                break;
            }
            parent = self.slots[&p].parent;
        }
        // Copying an untyped fills the original, so only the copy carves.
        if let ACap::Untyped { base, size_bits, .. } = src_cap {
            let full = ACap::Untyped { base, size_bits, free: 1 << size_bits };
            self.slots.get_mut(&s).expect("source").cap = full;
        }
        let node = Node { cap: new, parent, revocable, first_badged: revocable };
        self.slots.insert(d, node);
        Ok(())
    }

    fn move_cap(
        &mut self,
        dest: u64,
        depth: u64,
        src: u64,
        sd: u64,
        f: impl Fn(ACap) -> Option<ACap>,
    ) -> Result<(), Error> {
        let (d, s) = self.resolve_pair(dest, depth, src, sd)?;
        let mut node = self.slots[&s];
        node.cap = f(node.cap).ok_or(Error::IllegalOperation)?;
        self.slots.remove(&s);
        for c in self.slots.values_mut() {
            if c.parent == Some(s) {
                c.parent = Some(d);
            }
        }
        self.slots.insert(d, node);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn retype(
        &mut self,
        ut: u64,
        ty: u64,
        size: u64,
        index: u64,
        depth: u64,
        offset: u64,
        num: u64,
    ) -> Result<(), Error> {
        let Some(ACap::Untyped { base, size_bits, free }) = self.cap(ut) else {
            return Err(Error::InvalidCapability);
        };
        let t = match ObjectType::from_word(ty) {
            Some(
                t @ (ObjectType::Untyped
                | ObjectType::Endpoint
                | ObjectType::Notification
                | ObjectType::CapTable),
            ) => t,
            _ => return Err(Error::InvalidArgument),
        };
        let obj_bits = match t {
            ObjectType::Untyped => size,
            ObjectType::CapTable => size.saturating_add(SLOT_BITS as u64),
            ObjectType::Endpoint => ENDPOINT_BITS as u64,
            _ => NOTIFICATION_BITS as u64,
        };
        if size >= 64 || obj_bits > MAX_UNTYPED_BITS {
            return Err(Error::RangeError);
        }
        if (t == ObjectType::CapTable && size == 0)
            || (t == ObjectType::Untyped && size < MIN_UNTYPED_BITS)
        {
            return Err(Error::InvalidArgument);
        }
        // The node's radix and the object of its slots (`None`: the root).
        let (node_radix, node) = if depth == 0 {
            (self.radix, None)
        } else {
            let s = lookup(self.radix, index, depth)?;
            match self.cap(s) {
                _ if s == self.root_slot => (self.radix, None),
                Some(ACap::CNode { ptr, radix, .. }) => (radix, Some(ptr)),
                _ => return Err(Error::FailedLookup),
            }
        };
        let key = |i: u64| node.map_or(i, |p| sub_key(p, i));
        let node_size = 1u64 << node_radix;
        if offset > node_size - 1 {
            return Err(Error::RangeError);
        }
        if !(1..=FAN_OUT_LIMIT).contains(&num) || num > node_size - offset {
            return Err(Error::RangeError);
        }
        if (offset..offset + num).any(|i| self.slots.contains_key(&key(i))) {
            return Err(Error::DeleteFirst);
        }
        let free = if self.has_children(ut) { free } else { 0 };
        let free_bytes = (1u64 << size_bits) - free;
        if (free_bytes >> obj_bits) < num {
            return Err(Error::NotEnoughMemory);
        }
        let aligned = (base + free).next_multiple_of(1 << obj_bits);
        let end = aligned + (num << obj_bits);
        self.slots.get_mut(&ut).expect("untyped").cap =
            ACap::Untyped { base, size_bits, free: end - base };
        for i in 0..num {
            let ptr = aligned + (i << obj_bits);
            let cap = match t {
                ObjectType::Untyped => ACap::Untyped { base: ptr, size_bits: size, free: 0 },
                ObjectType::CapTable => ACap::CNode { ptr, radix: size, guard_size: 0, guard: 0 },
                ObjectType::Endpoint => ACap::Endpoint { ptr, badge: 0, rights: ALL_RIGHTS },
                _ => ACap::Notification { ptr, badge: 0, rights: READ | WRITE },
            };
            let node = Node { cap, parent: Some(ut), revocable: true, first_badged: false };
            self.slots.insert(key(offset + i), node);
        }
        Ok(())
    }

    /// Checks the model's own invariants: live objects never overlap unless
    /// they are the same object, every object lies inside its ancestor
    /// untypeds, and parent links name live slots.
    pub fn check(&self) -> Result<(), String> {
        let objs: Vec<(u64, ACap)> = self
            .slots
            .iter()
            .filter(|(_, n)| !matches!(n.cap, ACap::Untyped { .. }))
            .map(|(&s, n)| (s, n.cap))
            .collect();
        for (i, (sa, a)) in objs.iter().enumerate() {
            for (sb, b) in &objs[i + 1..] {
                let ((a0, an), (b0, bn)) = (a.region(), b.region());
                let disjoint = a0 + an <= b0 || b0 + bn <= a0;
                if !disjoint && !a.same_object(b) {
                    return Err(format!("slot {sa} {a:?} overlaps slot {sb} {b:?}"));
                }
            }
        }
        for (&s, n) in &self.slots {
            let holder = |c: &ACap| {
                let (b, len) = c.region();
                matches!(c, ACap::CNode { .. }) && b <= s & !SUB && s & !SUB < b + len
            };
            if s & SUB != 0 && !self.slots.values().any(|o| holder(&o.cap)) {
                return Err(format!("slot {s:#x} outlived its CNode"));
            }
            let mut p = n.parent;
            while let Some(ps) = p {
                let Some(pn) = self.slots.get(&ps) else {
                    return Err(format!("slot {s}: parent {ps} is empty"));
                };
                if matches!(pn.cap, ACap::Untyped { .. }) && !pn.cap.same_region(&n.cap) {
                    return Err(format!("slot {s} lies outside its ancestor {ps}"));
                }
                p = pn.parent;
            }
        }
        Ok(())
    }
}
