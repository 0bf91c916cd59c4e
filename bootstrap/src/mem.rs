//! Placement of what bootstrap loads: the lowest free physical range of a
//! given size and alignment, where free means inside a RAM bank and outside
//! every reserved region. The boot-info record's `reserved` list is the one
//! source of truth; each placement is added to it, so nothing is placed twice.

use bootimage::handoff::Region;

/// The lowest `align`-aligned address at or above `floor` where `size` bytes
/// fit in one of `ram` without touching any of `reserved`.
pub fn find_free(
    ram: &[Region],
    reserved: &[Region],
    size: u64,
    align: u64,
    floor: u64,
) -> Option<u64> {
    let size = size.max(1);
    let mut best: Option<u64> = None;
    for bank in ram {
        let mut cand = align_up(bank.base.max(floor), align)?;
        loop {
            let end = cand.checked_add(size)?;
            if end > bank.end() {
                break;
            }
            let want = Region::new(cand, size);
            // Jump past the highest-ending reserved region that collides.
            match reserved.iter().filter(|r| r.overlaps(&want)).map(|r| r.end()).max() {
                None => {
                    best = Some(best.map_or(cand, |b| b.min(cand)));
                    break;
                }
                Some(past) => cand = align_up(past, align)?,
            }
        }
    }
    best
}

fn align_up(v: u64, align: u64) -> Option<u64> {
    Some(v.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: [Region; 1] = [Region::new(0x4000_0000, 0x4000_0000)];

    #[test]
    fn first_fit_above_floor() {
        assert_eq!(find_free(&RAM, &[], 0x1000, 0x1000, 0), Some(0x4000_0000));
        assert_eq!(find_free(&RAM, &[], 0x1000, 0x1000, 0x4000_0001), Some(0x4000_1000));
    }

    #[test]
    fn skips_reserved_regions() {
        let res = [Region::new(0x4000_0000, 0x20_0000), Region::new(0x4020_0000, 0x1234)];
        assert_eq!(find_free(&RAM, &res, 0x1000, 0x1000, 0), Some(0x4020_2000));
        assert_eq!(find_free(&RAM, &res, 0x1000, 0x20_0000, 0), Some(0x4040_0000));
    }

    #[test]
    fn fits_in_gaps_and_reports_exhaustion() {
        let res = [Region::new(0x4000_0000, 0x1000), Region::new(0x4000_3000, 0x1000)];
        assert_eq!(find_free(&RAM, &res, 0x2000, 0x1000, 0), Some(0x4000_1000));
        assert_eq!(find_free(&RAM, &res, 0x3000, 0x1000, 0), Some(0x4000_4000));
        assert_eq!(find_free(&RAM, &[], 0x8000_0000, 0x1000, 0), None);
        assert_eq!(find_free(&[], &[], 1, 0x1000, 0), None);
    }

    #[test]
    fn picks_lowest_over_banks() {
        let ram = [Region::new(0x8000_0000, 0x1000_0000), Region::new(0x4000_0000, 0x1000)];
        assert_eq!(find_free(&ram, &[], 0x1000, 0x1000, 0), Some(0x4000_0000));
        assert_eq!(find_free(&ram, &[], 0x2000, 0x1000, 0), Some(0x8000_0000));
    }
}
