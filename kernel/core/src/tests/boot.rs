//! Boot: the root task's caps, address space, boot info and untypeds.

use super::*;
use crate::BootError;
use crate::cap::VmRights;
use crate::vspace::{desc, lookup_pt_slot};
use sel4_sys::bootinfo::{BOOTINFO_PAGES, NUM_INITIAL_CAPS, ROOT_CNODE_SIZE_BITS};
use sel4_sys::object::{MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};

/// The translation of `vaddr` in the root VSpace: descriptor and size bits.
fn walk(s: &Sys, vaddr: u64) -> (u64, u64) {
    let Cap::VSpace { ptr, .. } = s.cap(InitialCap::InitThreadVSpace as u64) else { panic!() };
    let slot = lookup_pt_slot(ptr, vaddr);
    (slot.entry(), slot.bits_left)
}

#[test]
fn root_thread_state() {
    let mut s = Sys::bare();
    let t = s.root.get();
    assert_eq!((t.priority, t.mcp), (255, 255));
    assert_eq!(t.context.pc, ENTRY);
    assert_eq!(t.context.sp, 0);
    assert_eq!(t.context.spsr, 0);
    assert_eq!(t.state, ThreadState::Running);
    assert_eq!(&t.name[..4], b"root");
    let bi = s.bootinfo();
    assert_eq!(t.context.regs[0], IMAGE_VADDR + IMAGE_SIZE + 0x1000);
    assert_eq!(bi.ipc_buffer, IMAGE_VADDR + IMAGE_SIZE);
    assert_eq!(t.ipc_buffer, bi.ipc_buffer);
    assert!(!s.k.current_is_idle());
    let (root, asid) = s.k.current_vspace().expect("vspace");
    assert_eq!(asid, 1);
    assert_eq!(
        Cap::VSpace { asid: Some(1), ptr: root },
        s.cap(InitialCap::InitThreadVSpace as u64)
    );
}

#[test]
fn initial_caps() {
    let s = Sys::bare();
    assert_eq!(s.cap(0), Cap::Null);
    assert!(matches!(s.cap(InitialCap::InitThreadTcb as u64), Cap::Tcb { ptr } if ptr == s.root.0));
    assert!(matches!(
        s.cap(InitialCap::InitThreadCNode as u64),
        Cap::CNode { radix: 13, guard_size: 51, guard: 0, .. }
    ));
    assert_eq!(s.cap(InitialCap::IrqControl as u64), Cap::IrqControl);
    assert_eq!(s.cap(InitialCap::AsidControl as u64), Cap::AsidControl);
    assert!(matches!(
        s.cap(InitialCap::InitThreadAsidPool as u64),
        Cap::AsidPool { asid_base: 0, .. }
    ));
    assert_eq!(s.cap(InitialCap::IoPortControl as u64), Cap::Null);
    assert_eq!(s.cap(InitialCap::IoSpace as u64), Cap::Null);
    assert!(matches!(s.cap(InitialCap::BootInfoFrame as u64), Cap::Frame { .. }));
    assert!(matches!(
        s.cap(InitialCap::InitThreadIpcBuffer as u64),
        Cap::Frame { mapped: Some((1, v)), .. } if v == IMAGE_VADDR + IMAGE_SIZE
    ));
    assert_eq!(s.cap(InitialCap::Domain as u64), Cap::Domain);
    // The root's own slots hold copies.
    let t = s.root;
    assert_eq!(t.slot(0).cap(), s.cap(InitialCap::InitThreadCNode as u64));
    assert_eq!(t.slot(1).cap(), s.cap(InitialCap::InitThreadVSpace as u64));
    assert!(matches!(t.slot(2).cap(), Cap::Frame { mapped: None, .. }));
    assert!(matches!(t.slot(3).cap(), Cap::Reply { master: true, .. }));
}

#[test]
fn slot_regions_are_contiguous() {
    let s = Sys::bare();
    let bi = s.bootinfo();
    assert_eq!(bi.user_image_paging.start, NUM_INITIAL_CAPS);
    assert_eq!(bi.user_image_frames.start, bi.user_image_paging.end);
    assert_eq!(bi.user_image_frames.len(), IMAGE_SIZE / 0x1000);
    assert_eq!(bi.extra_bi_pages.start, bi.user_image_frames.end);
    assert_eq!(bi.extra_bi_pages.len(), BOOTINFO_PAGES as u64 - 1);
    assert_eq!(bi.modules.start, bi.extra_bi_pages.end);
    assert_eq!(bi.untyped.start, bi.modules.end);
    assert_eq!(bi.empty.start, bi.untyped.end);
    assert_eq!(bi.empty.end, 1 << ROOT_CNODE_SIZE_BITS);
    assert_eq!(bi.init_thread_cnode_size_bits, 13);
    for i in bi.user_image_paging.start..bi.user_image_paging.end {
        assert!(matches!(s.cap(i), Cap::PageTable { mapped: Some((1, _)), .. }));
    }
    for i in bi.empty.start..bi.empty.end {
        assert_eq!(s.cap(i), Cap::Null);
    }
}

#[test]
fn image_and_buffers_mapped() {
    let s = Sys::bare();
    let bi = s.bootinfo();
    for (n, i) in (bi.user_image_frames.start..bi.user_image_frames.end).enumerate() {
        let v = IMAGE_VADDR + n as u64 * 0x1000;
        assert_eq!(
            s.cap(i),
            Cap::Frame {
                size_bits: 12,
                rights: VmRights::ReadWrite,
                device: false,
                paddr: s.base + n as u64 * 0x1000,
                mapped: Some((1, v)),
            }
        );
        let (e, bits) = walk(&s, v);
        assert_eq!(bits, 12);
        assert_eq!(e & desc::ADDR_MASK, s.base + n as u64 * 0x1000);
        assert_eq!(e & desc::XN, 0);
        assert_eq!(e & (desc::S2AP_READ | desc::S2AP_WRITE), desc::S2AP_READ | desc::S2AP_WRITE);
        assert_eq!(e & 0b1111 << 2, desc::MEMATTR_NORMAL_WB);
        assert_ne!(e & desc::AF, 0);
        assert_eq!(e & 3, 3);
    }
    let (e, _) = walk(&s, bi.ipc_buffer);
    assert_ne!(e & desc::XN, 0);
    for p in 0..BOOTINFO_PAGES as u64 {
        let (e, bits) = walk(&s, bi.ipc_buffer + 0x1000 * (p + 1));
        assert_eq!(bits, 12);
        assert_ne!(e & desc::VALID, 0);
    }
    // The boot info is where the mapping says.
    let Cap::Frame { paddr, .. } = s.cap(InitialCap::BootInfoFrame as u64) else { panic!() };
    let (e, _) = walk(&s, s.root.get().context.regs[0]);
    assert_eq!(e & desc::ADDR_MASK, paddr);
}

#[test]
fn modules_mapped_read_only() {
    let s = Sys::bare();
    let bi = s.bootinfo();
    let mods: Vec<_> = bi.modules().collect();
    assert_eq!(mods.len(), 2);
    assert_eq!((mods[0].0, mods[0].1), ("hello", "hello --x"));
    assert_eq!((mods[1].0, mods[1].1), ("big", ""));
    let (m0, m1) = (mods[0].2, mods[1].2);
    assert_eq!(m0.flags, 4);
    assert_eq!(m0.size, 5000);
    assert_eq!(m0.frames.len(), 2);
    assert!(m0.vaddr >= bi.ipc_buffer + 0x1000 * (1 + BOOTINFO_PAGES as u64));
    assert_eq!(m0.vaddr % (2 << 20), (s.base + (1 << 20)) % (2 << 20));
    assert!(m1.vaddr >= m0.vaddr + 0x2000);
    assert_eq!(m1.vaddr % (2 << 20), 0);
    // big: one 2 MiB frame, then two 4 KiB frames.
    assert_eq!(m1.frames.len(), 3);
    assert!(matches!(s.cap(m1.frames.start), Cap::Frame { size_bits: 21, .. }));
    assert!(matches!(s.cap(m1.frames.start + 1), Cap::Frame { size_bits: 12, .. }));
    let (e, bits) = walk(&s, m1.vaddr);
    assert_eq!(bits, 21);
    assert_eq!(e & 3, 1, "a block descriptor");
    assert_eq!(e & desc::ADDR_MASK, s.base + (4 << 20));
    assert_eq!(e & (desc::S2AP_READ | desc::S2AP_WRITE), desc::S2AP_READ);
    assert_ne!(e & desc::XN, 0);
    let (e, bits) = walk(&s, m1.vaddr + (2 << 20) + 0x1000);
    assert_eq!(bits, 12);
    assert_eq!(e & desc::ADDR_MASK, s.base + (4 << 20) + (2 << 20) + 0x1000);
    assert_eq!(bi.modules.len(), 5);
}

#[test]
fn untypeds_cover_free_memory() {
    let s = Sys::bare();
    let bi = s.bootinfo();
    let uts = bi.untypeds();
    assert_eq!(uts.len() as u64, bi.untyped.len());
    let mut ram_bytes = 0u64;
    let mut ranges = vec![];
    for (i, u) in uts.iter().enumerate() {
        assert!((MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&(u.size_bits as usize)));
        assert_eq!(u.paddr % (1 << u.size_bits), 0, "aligned");
        let cap = s.cap(bi.untyped.start + i as u64);
        assert_eq!(
            cap,
            Cap::Untyped {
                size_bits: u.size_bits,
                device: u.is_device != 0,
                base: u.paddr,
                free_index: 0,
            }
        );
        if u.is_device == 0 {
            ram_bytes += 1 << u.size_bits;
            assert!(u.paddr >= s.base && u.paddr < s.base + ARENA_SIZE);
        }
        ranges.push((u.paddr, u.paddr + (1 << u.size_bits)));
    }
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "untypeds overlap");
    }
    let dev: u64 = uts.iter().filter(|u| u.is_device != 0).map(|u| 1u64 << u.size_bits).sum();
    assert_eq!(dev, DEVICES.iter().map(|d| d.size).sum::<u64>());
    // Free RAM minus the kernel's boot objects (root CNode 512 KiB, IRQ
    // node, boot info, VSpace, pool, IPC buffer, page tables, two TCBs).
    let total: u64 = ram(s.base).iter().map(|r| r.size).sum();
    assert!(ram_bytes < total && ram_bytes > total - (1 << 20), "{ram_bytes} of {total}");
}

#[test]
fn irq_states_at_boot() {
    let s = Sys::bare();
    assert_eq!(s.k.irq_state[TIMER_IRQ as usize], crate::IrqState::Timer);
    assert_eq!(s.k.irq_state[RESERVED_IRQ as usize], crate::IrqState::Reserved);
    assert_eq!(s.k.irq_state[33], crate::IrqState::Inactive);
    assert!(s.k.arch.events.contains(&Event::Mask(TIMER_IRQ, false)));
}

#[test]
fn boot_errors() {
    let base = arena(16 << 20);
    let ram = [MemRegion::new(base + (8 << 20), 8 << 20)];
    let mut cfg = config(base, &ram, &[]);
    cfg.root.paddr += 1;
    assert!(matches!(Kernel::boot(TestArch::default(), &cfg), Err(BootError::Misaligned { .. })));
    let mut cfg = config(base, &ram, &[]);
    cfg.timer_irq = NUM_IRQS;
    assert_eq!(Kernel::boot(TestArch::default(), &cfg).err(), Some(BootError::BadIrq { irq: 64 }));
    let small = [MemRegion::new(base + (8 << 20), 64 << 10)];
    let cfg = config(base, &small, &[]);
    let e = Kernel::boot(TestArch::default(), &cfg).err().expect("error");
    assert!(matches!(e, BootError::OutOfMemory { .. }));
    assert!(e.to_string().contains("root CNode"));
    let mut cfg = config(base, &ram, &[]);
    cfg.root.vaddr = (1 << 39) - 0x1000;
    assert!(matches!(Kernel::boot(TestArch::default(), &cfg), Err(BootError::AddressSpace { .. })));
    // A minimal boot works and leaves the rest as untypeds.
    let cfg = config(base, &ram, &[]);
    let k = Kernel::boot(TestArch::default(), &cfg).expect("boot");
    assert!(!k.current_is_idle());
}
