//! The differential runner: a seeded generator of random (often invalid)
//! CNode and Untyped operations, applied to the [`Model`] and, as real
//! invocations, to a booted kernel; after every step the results and the
//! contents of every tracked slot must agree.
//!
//! Slots are drawn from a window of the root CNode's empty slots; a few
//! indices and depths are deliberately out of range so that the lookup
//! failures are exercised too. Retype targets the root CNode or a CNode
//! it made earlier; after a quarter of the steps a notification probe
//! checks rights and badges by signalling.

use crate::harness::Host;
use crate::model::{ACap, Model, Op, READ, SUB, WRITE, sub_key};
use kernel_core::Cap;
use sel4_sys::bootinfo::InitialCap;
use sel4_sys::{Error, InvocationLabel as L, ObjectType, Syscall};

/// The root CNode's cptr (also the source root of every CNode operation).
const CNODE: u64 = InitialCap::InitThreadCNode as u64;
/// Radix of the root task's CNode.
const ROOT_RADIX: u64 = sel4_sys::bootinfo::ROOT_CNODE_SIZE_BITS;
/// Number of root slots the runner works in.
pub const WINDOW: u64 = 32;
/// Size of the untyped the runner carves objects from, log2 bytes: from
/// 10 to 16 by seed, so that small ones run out of memory often.
fn untyped_bits(seed: u64) -> u64 {
    10 + seed % 7
}

/// A small deterministic random generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// Where the model and the kernel disagreed.
#[derive(Debug)]
pub struct Divergence {
    /// The seed of the run.
    pub seed: u64,
    /// The operations applied, the last one diverging.
    pub ops: Vec<Op>,
    /// What differed.
    pub what: String,
}

impl core::fmt::Display for Divergence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(f, "seed {}: step {}: {}", self.seed, self.ops.len() - 1, self.what)?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {i:4}: {op:?}")?;
        }
        Ok(())
    }
}

/// One run: a kernel, the model and the generator.
pub struct Run {
    host: Host,
    model: Model,
    rng: Rng,
    first: u64,
    seed: u64,
    ops: Vec<Op>,
    /// Successful operations by kind: Retype, Copy, Mint, Move, Mutate,
    /// Delete, Revoke.
    pub ok: [u64; 7],
}

/// The abstract view of a kernel cap, or a description of an unexpected
/// one.
fn abstract_cap(c: Cap) -> Result<Option<ACap>, String> {
    Ok(Some(match c {
        Cap::Null => return Ok(None),
        Cap::Untyped { size_bits, base, free_index, .. } => {
            ACap::Untyped { base, size_bits: size_bits as u64, free: free_index }
        }
        Cap::Endpoint { ptr, badge, rights } => ACap::Endpoint { ptr, badge, rights: rights.0 },
        Cap::Notification { ptr, badge, rights } => {
            ACap::Notification { ptr, badge, rights: rights.0 }
        }
        Cap::CNode { radix, guard_size, ptr, guard } => {
            ACap::CNode { ptr, radix: radix as u64, guard_size: guard_size as u64, guard }
        }
        c => return Err(format!("unexpected cap {c:?}")),
    }))
}

impl Run {
    /// Boots a kernel and carves the runner's untyped into the first slot
    /// of the window.
    pub fn new(seed: u64) -> Run {
        let mut host = Host::boot();
        let bi = host.bootinfo();
        let first = bi.empty.start;
        let (i, _) = bi
            .untypeds()
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_device == 0)
            .max_by_key(|(_, u)| u.size_bits)
            .expect("an untyped");
        let big = bi.untyped.start + i as u64;
        let bits = untyped_bits(seed);
        let args = [ObjectType::Untyped as u64, bits, 0, 0, first, 1];
        host.invoke(big, L::UntypedRetype, &args, &[CNODE]).expect("carve the untyped");
        let Cap::Untyped { base, .. } = host.cap(first) else { panic!("no untyped") };
        let model = Model::new(ROOT_RADIX, CNODE, first, base, bits);
        Run { host, model, rng: Rng::new(seed), first, seed, ops: vec![], ok: [0; 7] }
    }

    /// A slot index and depth: mostly a window slot at depth 64.
    fn addr(&mut self) -> (u64, u64) {
        let r = &mut self.rng;
        let index = if r.chance(4) {
            (1 << ROOT_RADIX) + r.below(1 << 20)
        } else {
            self.first + r.below(WINDOW)
        };
        let depth = if r.chance(4) { r.below(72) } else { 64 };
        (index, depth)
    }

    /// Random rights, or all of them.
    fn rights(&mut self) -> u64 {
        if self.rng.chance(30) { 0xf } else { self.rng.below(16) }
    }

    /// The next random operation.
    fn gen_op(&mut self) -> Op {
        let uts: Vec<u64> = self
            .model
            .slots
            .iter()
            .filter(|(s, n)| **s & SUB == 0 && matches!(n.cap, ACap::Untyped { .. }))
            .map(|(&s, _)| s)
            .collect();
        let k = self.rng.below(100);
        let (dest, depth) = self.addr();
        let (src, src_depth) = self.addr();
        match k {
            0..30 if !uts.is_empty() => {
                let r = &mut self.rng;
                let ut = uts[r.below(uts.len() as u64) as usize];
                let (ty, size) = match r.below(20) {
                    0..8 => (ObjectType::Endpoint as u64, if r.chance(3) { 70 } else { 0 }),
                    8..12 => (ObjectType::Notification as u64, 0),
                    12..15 => (ObjectType::CapTable as u64, r.below(4)),
                    15..18 => (ObjectType::Untyped as u64, 3 + r.below(11)),
                    18 => (ObjectType::HugePage as u64, 0),
                    _ => (4242, 0),
                };
                let (index, depth) = match r.below(10) {
                    0..6 => (0, 0),
                    6..8 => (self.first + r.below(WINDOW), 64),
                    8 => (CNODE, 64),
                    _ => (self.first + r.below(WINDOW), r.below(66)),
                };
                let sub = match self.model.cap(index) {
                    Some(ACap::CNode { radix, .. }) if depth == 64 => Some(radix),
                    _ => None,
                };
                let r = &mut self.rng;
                if let Some(radix) = sub {
                    let offset = r.below((1 << radix) + 1);
                    let num = 1 + r.below(2);
                    return Op::Retype { ut, ty, size, index, depth, offset, num };
                }
                let offset = if r.chance(3) {
                    (1 << ROOT_RADIX) + r.below(64)
                } else {
                    self.first + r.below(WINDOW)
                };
                let mut num = match r.below(40) {
                    0 => 0,
                    1 => 300,
                    _ => 1 + r.below(3),
                };
                let end = self.first + WINDOW;
                if offset < end && (1..=256).contains(&num) && offset + num > end {
                    num = end - offset;
                }
                Op::Retype { ut, ty, size, index, depth, offset, num }
            }
            0..45 => Op::Copy { dest, depth, src, src_depth, rights: self.rights() },
            45..60 => {
                let rights = self.rights();
                let badge =
                    if self.rng.chance(50) { self.rng.below(4) } else { self.rng.next_u64() };
                Op::Mint { dest, depth, src, src_depth, rights, badge }
            }
            60..68 => Op::Move { dest, depth, src, src_depth },
            68..75 => {
                let data = self.rng.below(1 << 12);
                Op::Mutate { dest, depth, src, src_depth, data }
            }
            75..88 => Op::Delete { slot: dest, depth },
            _ => Op::Revoke { slot: dest, depth },
        }
    }

    /// Applies `op` to the kernel as an invocation.
    fn invoke(&mut self, op: Op) -> Result<(), Error> {
        let h = &mut self.host;
        match op {
            Op::Retype { ut, ty, size, index, depth, offset, num } => {
                h.invoke(ut, L::UntypedRetype, &[ty, size, index, depth, offset, num], &[CNODE])
            }
            Op::Copy { dest, depth, src, src_depth, rights } => {
                h.invoke(CNODE, L::CNodeCopy, &[dest, depth, src, src_depth, rights], &[CNODE])
            }
            Op::Mint { dest, depth, src, src_depth, rights, badge } => {
                let args = [dest, depth, src, src_depth, rights, badge];
                h.invoke(CNODE, L::CNodeMint, &args, &[CNODE])
            }
            Op::Move { dest, depth, src, src_depth } => {
                h.invoke(CNODE, L::CNodeMove, &[dest, depth, src, src_depth], &[CNODE])
            }
            Op::Mutate { dest, depth, src, src_depth, data } => {
                h.invoke(CNODE, L::CNodeMutate, &[dest, depth, src, src_depth, data], &[CNODE])
            }
            Op::Delete { slot, depth } => h.invoke(CNODE, L::CNodeDelete, &[slot, depth], &[]),
            Op::Revoke { slot, depth } => h.invoke(CNODE, L::CNodeRevoke, &[slot, depth], &[]),
        }
    }

    /// Compares every window slot of the kernel with the model.
    fn compare_slots(&self) -> Result<(), String> {
        for s in self.first..self.first + WINDOW {
            let k = abstract_cap(self.host.cap(s)).map_err(|e| format!("slot {s}: {e}"))?;
            let m = self.model.cap(s);
            if k != m {
                return Err(format!("slot {s}: kernel {k:?}, model {m:?}"));
            }
        }
        for n in self.model.slots.values() {
            let ACap::CNode { ptr, radix, .. } = n.cap else { continue };
            for i in 0..1u64 << radix {
                let k = abstract_cap(self.host.cap_at(ptr + (i << 6)))
                    .map_err(|e| format!("CNode {ptr:#x} slot {i}: {e}"))?;
                let m = self.model.cap(sub_key(ptr, i));
                if k != m {
                    return Err(format!("CNode {ptr:#x} slot {i}: kernel {k:?}, model {m:?}"));
                }
            }
        }
        Ok(())
    }

    /// Signals through a random notification cap and polls through
    /// another cap to the same object that may read: the signal arrives,
    /// with the cap's badge, exactly when the cap has the Write right, and
    /// nothing is left pending.
    fn probe(&mut self) -> Result<(), String> {
        if !self.rng.chance(25) {
            return Ok(());
        }
        // Only root slots have cptrs.
        let ntfns: Vec<(u64, ACap)> = self
            .model
            .slots
            .iter()
            .filter(|(s, n)| **s & SUB == 0 && matches!(n.cap, ACap::Notification { .. }))
            .map(|(&s, n)| (s, n.cap))
            .collect();
        if ntfns.is_empty() {
            return Ok(());
        }
        let (s, cap) = ntfns[self.rng.below(ntfns.len() as u64) as usize];
        let readers: Vec<u64> = ntfns
            .iter()
            .filter(|(_, c)| {
                c.same_object(&cap)
                    && matches!(c, ACap::Notification { rights, .. } if rights & READ != 0)
            })
            .map(|&(r, _)| r)
            .collect();
        let Some(&r) = readers.first() else { return Ok(()) };
        let ACap::Notification { badge, rights, .. } = cap else { unreachable!() };
        let want = if rights & WRITE != 0 { badge } else { 0 };
        self.host.syscall(Syscall::NBSend, s);
        let got = self.host.syscall(Syscall::NBRecv, r);
        let left = self.host.syscall(Syscall::NBRecv, r);
        if self.host.k.current_is_idle() {
            return Err(format!("probe: signal {s}, poll {r}: the root thread blocked"));
        }
        if (got, left) != (want, 0) {
            return Err(format!(
                "probe: signal {s} ({cap:?}), poll {r}: got {got:#x} then {left:#x}, want {want:#x} then 0"
            ));
        }
        Ok(())
    }

    /// One random operation on both sides, then the checks.
    pub fn step(&mut self) -> Result<(), Divergence> {
        let op = self.gen_op();
        self.ops.push(op);
        let want = self.model.apply(op);
        let got = self.invoke(op);
        if got.is_ok() {
            self.ok[kind(op)] += 1;
        }
        let what = if want != got {
            Some(format!("kernel {got:?}, model {want:?}"))
        } else if self.host.k.current_is_idle() {
            Some("the root thread is no longer current".into())
        } else {
            self.model.check().and_then(|()| self.compare_slots()).and_then(|()| self.probe()).err()
        };
        match what {
            None => Ok(()),
            Some(what) => Err(Divergence { seed: self.seed, ops: self.ops.clone(), what }),
        }
    }
}

/// The index of `op`'s kind in [`Run::ok`].
fn kind(op: Op) -> usize {
    match op {
        Op::Retype { .. } => 0,
        Op::Copy { .. } => 1,
        Op::Mint { .. } => 2,
        Op::Move { .. } => 3,
        Op::Mutate { .. } => 4,
        Op::Delete { .. } => 5,
        Op::Revoke { .. } => 6,
    }
}

/// Runs `steps` random operations from `seed`; the successful operations
/// by kind (see [`Run::ok`]).
pub fn run(seed: u64, steps: usize) -> Result<[u64; 7], Divergence> {
    let mut r = Run::new(seed);
    for _ in 0..steps {
        r.step()?;
    }
    Ok(r.ok)
}
