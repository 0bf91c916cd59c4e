//! The protocol end to end on the host: the client stubs call the server
//! dispatch directly (a loopback transport), against a fake vbus with the
//! interrupt controller and a PL031.

use core::cell::RefCell;
use std::vec::Vec;

use sel4::{AbsoluteCPtr, CPtr, cap};

use crate::server::{Handler, dispatch};
use crate::{
    DeviceInfo, Error, Frame, Request, ResourceInfo, Transport, Vbus, label, mode, res_type,
};

const PL031: u64 = 0x901_0000;

/// A vbus with `L4ICU` and a PL031 (IRQ 34, one page of MMIO).
#[derive(Default)]
struct Fake {
    bound: Option<u64>,
    masked: bool,
    acks: u32,
}

impl Fake {
    fn frame(&self, page: u64) -> (Frame, u64) {
        (Frame { paddr: page, rights: 3, flags: 2 }, 0x400 + (page - PL031) / 4096)
    }
}

impl Handler for Fake {
    fn name(&mut self) -> &str {
        "test_a"
    }

    fn device(&mut self, index: u64) -> Result<DeviceInfo, Error> {
        match index {
            0 => Ok(DeviceInfo::new(0, 2, 0, 0, "L4ICU", "L4ICU", [])),
            1 => Ok(DeviceInfo::new(1, 2, 0, 2, "PL031", "", ["arm,pl031", "arm,primecell"])),
            _ => Err(Error::NoDevice),
        }
    }

    fn resource(&mut self, dev: u64, res: u64) -> Result<ResourceInfo, Error> {
        match (dev, res) {
            (1, 0) => Ok(ResourceInfo::new(res_type::IRQ, 34, 34, 0x30_0001, "irq0")),
            (1, 1) => Ok(ResourceInfo::new(res_type::MMIO, PL031, PL031 + 0xfff, 2, "reg0")),
            (0 | 1, _) => Err(Error::NoResource),
            _ => Err(Error::NoDevice),
        }
    }

    fn map_mmio(&mut self, dev: u64, res: u64, page: u64) -> Result<(Frame, u64), Error> {
        if (dev, res, page) != (1, 1, 0) {
            return Err(Error::NoMmioResource);
        }
        Ok(self.frame(PL031))
    }

    fn map_mmio_at(&mut self, paddr: u64) -> Result<(Frame, u64), Error> {
        if !(PL031..PL031 + 4096).contains(&paddr) {
            return Err(Error::NoMmioResource);
        }
        Ok(self.frame(paddr & !0xfff))
    }

    fn icu_bind(&mut self, irq: u64, cap: bool) -> Result<(), Error> {
        match (irq, cap) {
            (34, true) => {
                self.bound = Some(irq);
                Ok(())
            }
            (34, false) => Err(Error::NoCap),
            _ => Err(Error::NoIrqResource),
        }
    }

    fn icu_unbind(&mut self, irq: u64) -> Result<(), Error> {
        self.bound.take().filter(|b| *b == irq).map(|_| ()).ok_or(Error::NotBound)
    }

    fn icu_mask(&mut self, _: u64) -> Result<(), Error> {
        self.masked = true;
        Ok(())
    }

    fn icu_unmask(&mut self, _: u64) -> Result<(), Error> {
        self.masked = false;
        Ok(())
    }

    fn icu_set_mode(&mut self, _: u64, m: u64) -> Result<(), Error> {
        if m == mode::LEVEL_LOW { Err(Error::Unsupported) } else { Ok(()) }
    }

    fn icu_ack(&mut self, irq: u64) -> Result<(), Error> {
        if self.bound != Some(irq) {
            return Err(Error::Kernel(3));
        }
        self.acks += 1;
        Ok(())
    }
}

/// Calls the dispatch directly; a cap in a reply is recorded as
/// (receive slot, server cptr).
struct Loop {
    server: RefCell<Fake>,
    caps: RefCell<Vec<(u64, u64)>>,
}

impl Transport for Loop {
    fn call(
        &self,
        label: u64,
        words: &[u64],
        send: Option<CPtr>,
        recv: Option<&AbsoluteCPtr>,
        reply: &mut [u64],
    ) -> (u64, usize) {
        let r = dispatch(&mut *self.server.borrow_mut(), label, words, send.is_some(), reply);
        if let (Some(c), Some(slot)) = (r.cap, recv) {
            self.caps.borrow_mut().push((slot.path().bits(), c));
        }
        (r.label, r.len)
    }
}

fn vbus() -> Vbus<Loop> {
    Vbus::new(Loop { server: RefCell::new(Fake::default()), caps: RefCell::new(Vec::new()) })
}

fn slot(n: u64) -> AbsoluteCPtr {
    cap::CNode::from_bits(2).absolute_cptr_from_bits_with_depth(n, 12)
}

#[test]
fn devices_are_enumerated_and_found() {
    let v = vbus();
    let names: Vec<String> = v.devices().map(|d| d.unwrap().name().to_string()).collect();
    assert_eq!(names, ["L4ICU", "PL031"]);
    let rtc = v.find_compatible("arm,pl031").unwrap().unwrap();
    assert_eq!((rtc.index, rtc.resources, rtc.hid()), (1, 2, ""));
    assert_eq!(rtc.compatible().collect::<Vec<_>>(), ["arm,pl031", "arm,primecell"]);
    assert_eq!(v.find_by_hid("L4ICU").unwrap().unwrap().index, 0);
    assert!(v.find_compatible("arm,pl011").unwrap().is_none());
    assert_eq!(v.device(7).unwrap_err(), Error::NoDevice);
}

#[test]
fn resources_are_read() {
    let v = vbus();
    let rtc = v.device(1).unwrap();
    let rs: Vec<ResourceInfo> = v.resources(&rtc).map(Result::unwrap).collect();
    assert_eq!(rs.len(), 2);
    assert_eq!((rs[0].name(), rs[0].kind, rs[0].start, rs[0].flags), ("irq0", 1, 34, 0x30_0001));
    assert_eq!((rs[1].name(), rs[1].size(), rs[1].pages()), ("reg0", 4096, 1));
    let (i, r) = v.find_resource(&rtc, res_type::MMIO).unwrap().unwrap();
    assert_eq!((i, r.start), (1, PL031));
    assert_eq!(v.resource(1, 5).unwrap_err(), Error::NoResource);
}

#[test]
fn mmio_comes_as_frame_caps_into_the_callers_slots() {
    let v = vbus();
    let (f, n) = v.map_mmio(1, 1, &[slot(1100), slot(1101)]).unwrap();
    assert_eq!((f.paddr, n, f.writable()), (PL031, 1, true));
    assert_eq!(*v.transport().caps.borrow(), [(1100, 0x400)]);
    assert_eq!(v.map_mmio_at(PL031 + 0x10, &slot(1102)).unwrap().paddr, PL031);
    // An IRQ resource, another page, an address off the bus: refused.
    assert_eq!(v.map_mmio(1, 0, &[slot(1103)]).unwrap_err(), Error::NoMmioResource);
    assert_eq!(v.map_mmio_page(1, 1, 1, &slot(1103)).unwrap_err(), Error::NoMmioResource);
    assert_eq!(v.map_mmio_at(0x900_0000, &slot(1103)).unwrap_err(), Error::NoMmioResource);
    assert_eq!(v.transport().caps.borrow().len(), 2);
    assert_eq!(Error::NoMmioResource.to_string(), "no MMIO resource");
}

#[test]
fn the_icu_binds_masks_and_acknowledges() {
    let v = vbus();
    let n: cap::Notification = CPtr::from_bits(1200).cast();
    assert_eq!(v.icu_bind(33, n).unwrap_err(), Error::NoIrqResource);
    v.icu_bind(34, n).unwrap();
    v.icu_ack(34).unwrap();
    v.icu_mask(34).unwrap();
    assert!(v.transport().server.borrow().masked);
    v.icu_unmask(34).unwrap();
    assert_eq!(v.icu_set_mode(34, mode::LEVEL_LOW).unwrap_err(), Error::Unsupported);
    v.icu_set_mode(34, mode::RAISING_EDGE).unwrap();
    v.icu_unbind(34).unwrap();
    assert_eq!(v.icu_unbind(34).unwrap_err(), Error::NotBound);
    assert_eq!(v.icu_ack(34).unwrap_err(), Error::Kernel(3));
    assert_eq!(v.transport().server.borrow().acks, 1);
}

#[test]
fn a_bind_without_a_cap_is_refused() {
    let mut f = Fake::default();
    let mut reply = [0u64; 8];
    let r = dispatch(&mut f, label::ICU_BIND, &[34], false, &mut reply);
    assert_eq!((r.label, r.cap), (Error::NoCap.encode().0, None));
}

#[test]
fn malformed_requests_are_refused() {
    let mut f = Fake::default();
    let mut reply = [0u64; 8];
    for (l, w) in
        [(0u64, &[][..]), (99, &[1][..]), (label::MAP_MMIO, &[1, 1][..]), (label::DEVICE, &[][..])]
    {
        let r = dispatch(&mut f, l, w, false, &mut reply);
        assert_eq!(r.label, Error::BadRequest.encode().0, "label {l}");
    }
}

#[test]
fn requests_and_errors_round_trip() {
    let reqs = [
        Request::Device { index: 3 },
        Request::Resource { dev: 1, res: 2 },
        Request::MapMmio { dev: 1, res: 2, page: 3 },
        Request::MapMmioAt { paddr: 0x901_0000 },
        Request::Bind { irq: 34 },
        Request::Unbind { irq: 34 },
        Request::Mask { irq: 34 },
        Request::Unmask { irq: 34 },
        Request::SetMode { irq: 34, mode: 3 },
        Request::Ack { irq: 34 },
    ];
    for r in reqs {
        let mut w = [0u64; 4];
        let (l, n) = r.encode(&mut w);
        assert_eq!(Request::decode(l, &w[..n]), Ok(r));
    }
    for e in
        [Error::BadRequest, Error::NoMmioResource, Error::Kernel(7), Error::NoMemory, Error::Busy]
    {
        let (l, w) = e.encode();
        assert_eq!(Error::decode(l, w), Some(e));
    }
    assert_eq!(Error::decode(0, 0), None);
}

#[test]
fn long_compatible_lists_are_cut_to_fit() {
    let long = "x".repeat(200);
    let d = DeviceInfo::new(0, 1, 0, 0, "dev", "hid", [long.as_str(), &long, &long, "last"]);
    assert_eq!(d.compatible().count(), 2);
    let mut w = [0u64; 72];
    let n = d.encode(&mut w);
    assert!(n <= 72);
    let back = DeviceInfo::decode(0, &w[..n]).unwrap();
    assert_eq!((back.name(), back.hid(), back.compatible().count()), ("dev", "hid", 2));
    let empty = DeviceInfo::new(0, 1, 0, 0, "", "", []);
    assert_eq!((empty.name(), empty.hid(), empty.compatible().count()), ("", "", 0));
}

#[test]
fn the_vbus_says_its_name() {
    let mut buf = [0u8; 32];
    assert_eq!(vbus().name(&mut buf), Ok("test_a"));
    let mut short = [0u8; 4];
    assert_eq!(vbus().name(&mut short), Ok("test"));
}
