//! How io turns the device untypeds it was given into the 4 KiB frames of
//! the MMIO ranges it manages. An untyped hands out memory from its start
//! upwards (its watermark only rises while it has children), so a range
//! that does not start at its untyped's start is reached by first carving
//! the memory below it into child untypeds, largest naturally aligned
//! blocks first, which io keeps:
//!
//! ```text
//!  untyped 0x0900_0000 .. 0x0902_0000 (128 KiB)
//!  ranges wanted: 0x0901_0000 .. 0x0901_0fff
//!    Skip 64 KiB (0x0900_0000)      a child untyped, never used
//!    Frames 1 at 0x0901_0000        the range's page
//! ```
//!
//! The plan is computed here, on numbers only, so it is tested on the host;
//! io carries it out with `Untyped Retype`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Page size of the frames io hands out.
pub const PAGE: u64 = 4096;

/// A device untyped: physical address and size (log2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Untyped {
    pub paddr: u64,
    pub size_bits: u32,
}

impl Untyped {
    fn end(&self) -> u64 {
        self.paddr + (1u64 << self.size_bits)
    }
}

/// An MMIO range to provide (`start..=end`, whole pages), with what to call
/// it in a message (`` `rtc` Resource.reg0 ``).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub start: u64,
    pub end: u64,
    pub what: String,
}

/// One `Untyped Retype` (or a run of them, for many frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An untyped of 2^`bits` bytes out of untyped `ut`, skipping memory
    /// below a range.
    Skip { ut: usize, bits: u32 },
    /// `count` frames out of untyped `ut`, the first at `paddr`.
    Frames { ut: usize, paddr: u64, count: u64 },
}

/// The retypes that give every page of `needs` from `uts`, in order; an
/// error names the first range some page of which no untyped holds.
pub fn plan(uts: &[Untyped], needs: &[Need]) -> Result<Vec<Step>, String> {
    // (untyped, page) for every page wanted.
    let mut pages: Vec<(usize, u64)> = Vec::new();
    for n in needs {
        let mut p = n.start;
        while p < n.end {
            let Some(ut) = uts.iter().position(|u| u.paddr <= p && p < u.end()) else {
                return Err(missing(uts, n, p));
            };
            pages.push((ut, p));
            p += PAGE;
        }
    }
    pages.sort_unstable();
    pages.dedup();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let ut = pages[i].0;
        let mut mark = uts[ut].paddr;
        while i < pages.len() && pages[i].0 == ut {
            let first = pages[i].1;
            let mut count = 1;
            while i + (count as usize) < pages.len()
                && pages[i + count as usize] == (ut, first + count * PAGE)
            {
                count += 1;
            }
            while mark < first {
                let bits = (mark.trailing_zeros()).min(63 - (first - mark).leading_zeros());
                steps.push(Step::Skip { ut, bits });
                mark += 1u64 << bits;
            }
            steps.push(Step::Frames { ut, paddr: first, count });
            mark = first + count * PAGE;
            i += count as usize;
        }
    }
    Ok(steps)
}

fn missing(uts: &[Untyped], n: &Need, page: u64) -> String {
    let near: Vec<String> = uts
        .iter()
        .filter(|u| u.paddr < n.end + 0x10_0000 && n.start < u.end() + 0x10_0000)
        .map(|u| format!("{:#x}-{:#x}", u.paddr, u.end() - 1))
        .collect();
    let held = if near.is_empty() {
        format!("none near it among the {} device untypeds io holds", uts.len())
    } else {
        format!("near it io holds {}", near.join(", "))
    };
    format!(
        "{} [{:#x}-{:#x}]: io was not given the device memory at {page:#x} ({held}); give io \
         `sigma0: L4.Env.sigma0` (every device untyped) or the region as \
         `L4.Env.mmio(addr, size)`",
        n.what, n.start, n.end
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(start: u64, end: u64) -> Need {
        Need { start, end, what: "`d` Resource.r".into() }
    }

    #[test]
    fn a_range_at_an_untypeds_start_needs_no_skips() {
        let uts = [Untyped { paddr: 0x901_0000, size_bits: 12 }];
        let s = plan(&uts, &[need(0x901_0000, 0x901_0fff)]).unwrap();
        assert_eq!(s, [Step::Frames { ut: 0, paddr: 0x901_0000, count: 1 }]);
    }

    #[test]
    fn memory_below_a_range_is_skipped_in_aligned_blocks() {
        let uts = [Untyped { paddr: 0x800_0000, size_bits: 24 }];
        let s = plan(&uts, &[need(0x801_3000, 0x801_4fff), need(0x800_1000, 0x800_1fff)]).unwrap();
        assert_eq!(
            s,
            [
                Step::Skip { ut: 0, bits: 12 },
                Step::Frames { ut: 0, paddr: 0x800_1000, count: 1 },
                Step::Skip { ut: 0, bits: 13 },
                Step::Skip { ut: 0, bits: 14 },
                Step::Skip { ut: 0, bits: 15 },
                Step::Skip { ut: 0, bits: 13 },
                Step::Skip { ut: 0, bits: 12 },
                Step::Frames { ut: 0, paddr: 0x801_3000, count: 2 },
            ]
        );
        // Every skip is naturally aligned and they tile the gaps exactly.
        let mut mark = 0x800_0000u64;
        for st in s {
            match st {
                Step::Skip { bits, .. } => {
                    assert_eq!(mark % (1 << bits), 0);
                    mark += 1 << bits;
                }
                Step::Frames { paddr, count, .. } => {
                    assert_eq!(mark, paddr);
                    mark = paddr + count * PAGE;
                }
            }
        }
    }

    #[test]
    fn a_range_across_two_untypeds_takes_pages_from_each() {
        let uts = [
            Untyped { paddr: 0x1000_0000, size_bits: 13 },
            Untyped { paddr: 0x1000_2000, size_bits: 13 },
        ];
        let s = plan(&uts, &[need(0x1000_1000, 0x1000_2fff)]).unwrap();
        assert_eq!(
            s,
            [
                Step::Skip { ut: 0, bits: 12 },
                Step::Frames { ut: 0, paddr: 0x1000_1000, count: 1 },
                Step::Frames { ut: 1, paddr: 0x1000_2000, count: 1 },
            ]
        );
    }

    #[test]
    fn a_range_io_was_not_given_is_refused_by_name() {
        let uts = [Untyped { paddr: 0x900_0000, size_bits: 12 }];
        let e = plan(&uts, &[need(0x901_0000, 0x901_0fff)]).unwrap_err();
        assert!(e.starts_with("`d` Resource.r [0x9010000-0x9010fff]: io was not given"), "{e}");
        assert!(e.contains("0x9000000-0x9000fff"), "{e}");
        let e = plan(&[], &[need(0x901_0000, 0x901_0fff)]).unwrap_err();
        assert!(e.contains("none near it among the 0 device untypeds"), "{e}");
    }
}
