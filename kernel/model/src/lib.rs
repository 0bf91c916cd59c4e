//! A reference model of seL4's capability semantics and a differential
//! fuzzer for `kernel-core`.
//!
//! [`model`] is an executable specification of the CNode and Untyped
//! operations (Retype, Copy, Mint, Move, Mutate, Delete, Revoke) over
//! abstract caps and a derivation forest, written without any of
//! `kernel-core`'s code. [`harness`] boots a real `kernel-core` kernel on a
//! host arena and invokes it as the root thread. [`runner`] drives both with
//! the same seeded random operations and reports the first divergence.

pub mod harness;
pub mod model;
pub mod runner;
