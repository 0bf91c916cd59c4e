//! The client stubs: [`Vbus`] over a channel ([`Transport`], the seL4
//! endpoint in programs, a direct call of the server in host tests).

use sel4::{AbsoluteCPtr, CPtr, MessageInfo, cap};

use crate::wire::{DeviceInfo, Frame, Request, ResourceInfo};
use crate::{Error, res_type};

/// How a request reaches io.
pub trait Transport {
    /// `Call` with `label` and `words`, sending cap `send` and taking a cap
    /// the reply carries into `recv`; copies the reply's words into `reply`
    /// and returns its label and length.
    fn call(
        &self,
        label: u64,
        words: &[u64],
        send: Option<CPtr>,
        recv: Option<&AbsoluteCPtr>,
        reply: &mut [u64],
    ) -> (u64, usize);
}

impl Transport for cap::Endpoint {
    fn call(
        &self,
        label: u64,
        words: &[u64],
        send: Option<CPtr>,
        recv: Option<&AbsoluteCPtr>,
        reply: &mut [u64],
    ) -> (u64, usize) {
        let saved = sel4::with_ipc_buffer_mut(|b| {
            let saved = b.recv_slot();
            if let Some(r) = recv {
                b.set_recv_slot(r);
            }
            b.msg_regs_mut()[..words.len()].copy_from_slice(words);
            if let Some(c) = send {
                b.caps_or_badges_mut()[0] = c.bits();
            }
            saved
        });
        let info = MessageInfo::new(label, 0, send.is_some() as usize, words.len());
        let r = cap::Endpoint::call(*self, info);
        sel4::with_ipc_buffer_mut(|b| {
            b.set_recv_slot(&saved);
            let n = r.length().min(reply.len());
            reply[..n].copy_from_slice(&b.msg_regs()[..n]);
            (r.label(), n)
        })
    }
}

/// A vbus: the devices io placed on it, their MMIO and their IRQs.
pub struct Vbus<T: Transport = cap::Endpoint> {
    t: T,
}

impl<T: Transport> Vbus<T> {
    pub fn new(t: T) -> Self {
        Vbus { t }
    }

    /// The channel.
    pub fn transport(&self) -> &T {
        &self.t
    }

    fn request<'a>(
        &self,
        req: Request,
        send: Option<CPtr>,
        recv: Option<&AbsoluteCPtr>,
        reply: &'a mut [u64],
    ) -> Result<&'a [u64], Error> {
        let mut words = [0u64; 4];
        let (label, n) = req.encode(&mut words);
        let (l, len) = self.t.call(label, &words[..n], send, recv, reply);
        match Error::decode(l, if len > 0 { reply[0] } else { 0 }) {
            Some(e) => Err(e),
            None => Ok(&reply[..len]),
        }
    }

    fn simple(&self, req: Request) -> Result<(), Error> {
        self.request(req, None, None, &mut [0; 4]).map(|_| ())
    }

    /// Device `index` (0 is the vbus's interrupt controller, `L4ICU`).
    pub fn device(&self, index: u64) -> Result<DeviceInfo, Error> {
        let mut reply = [0u64; 72];
        let mr = self.request(Request::Device { index }, None, None, &mut reply)?;
        DeviceInfo::decode(index, mr)
    }

    /// Every device, depth first.
    pub fn devices(&self) -> impl Iterator<Item = Result<DeviceInfo, Error>> + '_ {
        let mut next = 0;
        let mut count = 1;
        core::iter::from_fn(move || {
            if next >= count {
                return None;
            }
            let d = self.device(next);
            next += 1;
            match &d {
                Ok(info) => count = info.count,
                Err(_) => count = 0,
            }
            Some(d)
        })
    }

    /// The first device (depth first) for which `pred` holds.
    pub fn find(
        &self,
        mut pred: impl FnMut(&DeviceInfo) -> bool,
    ) -> Result<Option<DeviceInfo>, Error> {
        for d in self.devices() {
            let d = d?;
            if pred(&d) {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// The first device with hardware ID `hid`.
    pub fn find_by_hid(&self, hid: &str) -> Result<Option<DeviceInfo>, Error> {
        self.find(|d| d.hid() == hid)
    }

    /// The first device compatible with `c` (`arm,pl031`).
    pub fn find_compatible(&self, c: &str) -> Result<Option<DeviceInfo>, Error> {
        self.find(|d| d.is_compatible(c))
    }

    /// Resource `res` of device `dev`.
    pub fn resource(&self, dev: u64, res: u64) -> Result<ResourceInfo, Error> {
        let mut reply = [0u64; 16];
        let mr = self.request(Request::Resource { dev, res }, None, None, &mut reply)?;
        ResourceInfo::decode(mr)
    }

    /// Every resource of `dev`.
    pub fn resources<'a>(
        &'a self,
        dev: &DeviceInfo,
    ) -> impl Iterator<Item = Result<ResourceInfo, Error>> + 'a {
        let index = dev.index;
        (0..dev.resources).map(move |i| self.resource(index, i))
    }

    /// The first resource of `dev` of type `kind` ([`res_type`]) and its
    /// index.
    pub fn find_resource(
        &self,
        dev: &DeviceInfo,
        kind: u64,
    ) -> Result<Option<(u64, ResourceInfo)>, Error> {
        for (i, r) in self.resources(dev).enumerate() {
            let r = r?;
            if r.kind == kind {
                return Ok(Some((i as u64, r)));
            }
        }
        Ok(None)
    }

    /// Page `page` of MMIO resource `res` of device `dev`, its frame cap
    /// into `slot`.
    pub fn map_mmio_page(
        &self,
        dev: u64,
        res: u64,
        page: u64,
        slot: &AbsoluteCPtr,
    ) -> Result<Frame, Error> {
        let mut reply = [0u64; 4];
        let mr = self.request(Request::MapMmio { dev, res, page }, None, Some(slot), &mut reply)?;
        Frame::decode(mr)
    }

    /// The pages of MMIO resource `res` of device `dev`, one frame cap into
    /// each of `slots` (as many as there are slots, at most every page of
    /// the resource); the first page's frame and how many came.
    pub fn map_mmio(
        &self,
        dev: u64,
        res: u64,
        slots: &[AbsoluteCPtr],
    ) -> Result<(Frame, usize), Error> {
        let r = self.resource(dev, res)?;
        if r.kind != res_type::MMIO {
            return Err(Error::NoMmioResource);
        }
        let n = (r.pages() as usize).min(slots.len());
        let mut first = None;
        for (p, s) in slots[..n].iter().enumerate() {
            let f = self.map_mmio_page(dev, res, p as u64, s)?;
            first.get_or_insert(f);
        }
        first.map(|f| (f, n)).ok_or(Error::NoResource)
    }

    /// The page of device memory holding `paddr`, if an MMIO resource of
    /// this vbus holds it, its frame cap into `slot` (L4Re's
    /// `l4io_request_iomem`).
    pub fn map_mmio_at(&self, paddr: u64, slot: &AbsoluteCPtr) -> Result<Frame, Error> {
        let mut reply = [0u64; 4];
        let mr = self.request(Request::MapMmioAt { paddr }, None, Some(slot), &mut reply)?;
        Frame::decode(mr)
    }

    /// Binds IRQ `irq` to `ntfn`: when it fires the kernel signals `ntfn`
    /// (with its badge) and masks the line until [`Vbus::icu_ack`].
    pub fn icu_bind(&self, irq: u64, ntfn: cap::Notification) -> Result<(), Error> {
        self.request(Request::Bind { irq }, Some(ntfn.cptr()), None, &mut [0; 4]).map(|_| ())
    }

    pub fn icu_unbind(&self, irq: u64) -> Result<(), Error> {
        self.simple(Request::Unbind { irq })
    }

    /// Holds deliveries of `irq` back until [`Vbus::icu_unmask`].
    pub fn icu_mask(&self, irq: u64) -> Result<(), Error> {
        self.simple(Request::Mask { irq })
    }

    /// Delivers again; one that arrived while masked is signalled now.
    pub fn icu_unmask(&self, irq: u64) -> Result<(), Error> {
        self.simple(Request::Unmask { irq })
    }

    /// Sets the trigger mode ([`crate::mode`]).
    pub fn icu_set_mode(&self, irq: u64, mode: u64) -> Result<(), Error> {
        self.simple(Request::SetMode { irq, mode })
    }

    /// The vbus's name (io's name for it, e.g. `vm_hw`), read into `buf`.
    pub fn name<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, Error> {
        let mut reply = [0u64; 72];
        let mr = self.request(Request::Name, None, None, &mut reply)?;
        let len = (*mr.first().ok_or(Error::BadRequest)? as usize).min(buf.len());
        let s = program_env::unpack_bytes(&mr[1..], len, buf).ok_or(Error::BadRequest)?;
        core::str::from_utf8(s).map_err(|_| Error::BadRequest)
    }

    /// Acknowledges a delivery: the line is unmasked.
    pub fn icu_ack(&self, irq: u64) -> Result<(), Error> {
        self.simple(Request::Ack { irq })
    }
}
