//! The messages' word layouts: each request and reply packed into and
//! read out of message registers, checked on the way in.

use crate::{Error, label};

/// Longest byte blob of a device (name, HID and compatible strings).
pub const MAX_BLOB: usize = 512;
/// Longest resource name.
pub const MAX_NAME: usize = 32;

/// A request, as the server reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Device { index: u64 },
    Resource { dev: u64, res: u64 },
    MapMmio { dev: u64, res: u64, page: u64 },
    MapMmioAt { paddr: u64 },
    Bind { irq: u64 },
    Unbind { irq: u64 },
    Mask { irq: u64 },
    Unmask { irq: u64 },
    SetMode { irq: u64, mode: u64 },
    Ack { irq: u64 },
    Name,
}

impl Request {
    /// The label and words; returns (label, words used).
    pub fn encode(&self, mr: &mut [u64]) -> (u64, usize) {
        let (l, w): (u64, &[u64]) = match *self {
            Request::Device { index } => (label::DEVICE, &[index]),
            Request::Resource { dev, res } => (label::RESOURCE, &[dev, res]),
            Request::MapMmio { dev, res, page } => (label::MAP_MMIO, &[dev, res, page]),
            Request::MapMmioAt { paddr } => (label::MAP_MMIO_AT, &[paddr]),
            Request::Bind { irq } => (label::ICU_BIND, &[irq]),
            Request::Unbind { irq } => (label::ICU_UNBIND, &[irq]),
            Request::Mask { irq } => (label::ICU_MASK, &[irq]),
            Request::Unmask { irq } => (label::ICU_UNMASK, &[irq]),
            Request::SetMode { irq, mode } => (label::ICU_SET_MODE, &[irq, mode]),
            Request::Ack { irq } => (label::ICU_ACK, &[irq]),
            Request::Name => (label::NAME, &[]),
        };
        mr[..w.len()].copy_from_slice(w);
        (l, w.len())
    }

    /// Reads a request; `mr` holds exactly the words sent.
    pub fn decode(l: u64, mr: &[u64]) -> Result<Request, Error> {
        let need = match l {
            label::RESOURCE | label::ICU_SET_MODE => 2,
            label::MAP_MMIO => 3,
            label::DEVICE..=label::ICU_ACK => 1,
            label::NAME => 0,
            _ => return Err(Error::BadRequest),
        };
        if mr.len() < need {
            return Err(Error::BadRequest);
        }
        let w = |i: usize| mr[i];
        Ok(match l {
            label::DEVICE => Request::Device { index: w(0) },
            label::RESOURCE => Request::Resource { dev: w(0), res: w(1) },
            label::MAP_MMIO => Request::MapMmio { dev: w(0), res: w(1), page: w(2) },
            label::MAP_MMIO_AT => Request::MapMmioAt { paddr: w(0) },
            label::ICU_BIND => Request::Bind { irq: w(0) },
            label::ICU_UNBIND => Request::Unbind { irq: w(0) },
            label::ICU_MASK => Request::Mask { irq: w(0) },
            label::ICU_UNMASK => Request::Unmask { irq: w(0) },
            label::ICU_SET_MODE => Request::SetMode { irq: w(0), mode: w(1) },
            label::NAME => Request::Name,
            _ => Request::Ack { irq: w(0) },
        })
    }
}

/// A device of the vbus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its index (the handle for `RESOURCE` and `MAP_MMIO`).
    pub index: u64,
    /// How many devices the vbus has.
    pub count: u64,
    /// Its depth below the vbus (0: a child of the vbus).
    pub depth: u64,
    /// How many resources it has.
    pub resources: u64,
    blob: [u8; MAX_BLOB],
    len: usize,
}

impl DeviceInfo {
    /// A description; compatible strings that do not fit are left out.
    pub fn new<'a>(
        index: u64,
        count: u64,
        depth: u64,
        resources: u64,
        name: &str,
        hid: &str,
        compatible: impl IntoIterator<Item = &'a str>,
    ) -> DeviceInfo {
        let mut d = DeviceInfo { index, count, depth, resources, blob: [0; MAX_BLOB], len: 0 };
        d.push(name);
        d.push(hid);
        for c in compatible {
            if d.len + c.len() + 1 > MAX_BLOB {
                break;
            }
            d.push(c);
        }
        d
    }

    fn push(&mut self, s: &str) {
        if self.len >= MAX_BLOB {
            return;
        }
        let n = s.len().min(MAX_BLOB - self.len - 1);
        self.blob[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n + 1;
    }

    /// Every string ends in a NUL byte: name, HID, then the compatibles.
    fn strings(&self) -> impl Iterator<Item = &str> {
        let b = &self.blob[..self.len];
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        b.split(|&x| x == 0).map(|s| core::str::from_utf8(s).unwrap_or("?"))
    }

    /// Its name on the vbus (`PL031`, `L4ICU`).
    pub fn name(&self) -> &str {
        self.strings().next().unwrap_or("")
    }

    /// Its hardware ID (may be empty).
    pub fn hid(&self) -> &str {
        self.strings().nth(1).unwrap_or("")
    }

    /// Its `compatible` strings.
    pub fn compatible(&self) -> impl Iterator<Item = &str> {
        self.strings().skip(2)
    }

    /// Whether one of its compatible strings is `c`.
    pub fn is_compatible(&self, c: &str) -> bool {
        self.compatible().any(|x| x == c)
    }

    pub(crate) fn encode(&self, mr: &mut [u64]) -> usize {
        mr[..4].copy_from_slice(&[self.count, self.depth, self.resources, self.len as u64]);
        4 + program_env::pack_bytes(&self.blob[..self.len], &mut mr[4..])
    }

    pub(crate) fn decode(index: u64, mr: &[u64]) -> Result<DeviceInfo, Error> {
        let [count, depth, resources, len, ..] = *mr else { return Err(Error::BadRequest) };
        let mut d = DeviceInfo { index, count, depth, resources, blob: [0; MAX_BLOB], len: 0 };
        let len = len as usize;
        let got = program_env::unpack_bytes(&mr[4..], len, &mut d.blob).ok_or(Error::BadRequest)?;
        d.len = got.len();
        Ok(d)
    }
}

/// One resource of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// [`crate::res_type`].
    pub kind: u64,
    pub start: u64,
    /// Inclusive.
    pub end: u64,
    /// L4Re's flags (the type in the low byte, an IRQ's trigger mode).
    pub flags: u64,
    name: [u8; MAX_NAME],
    len: usize,
}

impl ResourceInfo {
    pub fn new(kind: u64, start: u64, end: u64, flags: u64, name: &str) -> ResourceInfo {
        let mut r = ResourceInfo { kind, start, end, flags, name: [0; MAX_NAME], len: 0 };
        r.len = name.len().min(MAX_NAME);
        r.name[..r.len].copy_from_slice(&name.as_bytes()[..r.len]);
        r
    }

    /// Its key in the device's description (`reg0`).
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.len]).unwrap_or("?")
    }

    /// Bytes of an MMIO range, 1 for an IRQ.
    pub fn size(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Pages of an MMIO range.
    pub fn pages(&self) -> u64 {
        self.size().div_ceil(crate::PAGE)
    }

    pub(crate) fn encode(&self, mr: &mut [u64]) -> usize {
        mr[..5].copy_from_slice(&[self.kind, self.start, self.end, self.flags, self.len as u64]);
        5 + program_env::pack_bytes(&self.name[..self.len], &mut mr[5..])
    }

    pub(crate) fn decode(mr: &[u64]) -> Result<ResourceInfo, Error> {
        let [kind, start, end, flags, len, ..] = *mr else { return Err(Error::BadRequest) };
        if end < start {
            return Err(Error::BadRequest);
        }
        let mut r = ResourceInfo { kind, start, end, flags, name: [0; MAX_NAME], len: 0 };
        let got = program_env::unpack_bytes(&mr[5..], len as usize, &mut r.name)
            .ok_or(Error::BadRequest)?;
        r.len = got.len();
        Ok(r)
    }
}

/// A frame io handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Physical address of the page.
    pub paddr: u64,
    /// [`crate::rights`] bits of the cap.
    pub rights: u64,
    /// The resource's flags.
    pub flags: u64,
}

impl Frame {
    pub(crate) fn encode(&self, mr: &mut [u64]) -> usize {
        mr[..3].copy_from_slice(&[self.paddr, self.rights, self.flags]);
        3
    }

    pub(crate) fn decode(mr: &[u64]) -> Result<Frame, Error> {
        let [paddr, rights, flags, ..] = *mr else { return Err(Error::BadRequest) };
        Ok(Frame { paddr, rights, flags })
    }

    /// Whether the client may write the page.
    pub fn writable(&self) -> bool {
        self.rights & crate::rights::WRITE != 0
    }
}
