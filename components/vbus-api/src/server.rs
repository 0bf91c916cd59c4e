//! The server side, written once: io implements [`Handler`] for a vbus,
//! and [`serve`] (or [`dispatch`], which touches no IPC buffer) turns a
//! received message into calls of it and its answer into the reply.

use sel4::MessageInfo;

use crate::Error;
use crate::wire::{DeviceInfo, Frame, Request, ResourceInfo};

/// What a vbus server does; each method answers one request of its
/// client (see the crate's protocol table).
pub trait Handler {
    /// Device `index` of the vbus.
    fn device(&mut self, index: u64) -> Result<DeviceInfo, Error>;
    /// Resource `res` of device `dev`.
    fn resource(&mut self, dev: u64, res: u64) -> Result<ResourceInfo, Error>;
    /// Page `page` of MMIO resource `res` of device `dev`: its description
    /// and the cptr of a cap to it, with the resource's rights, to send.
    fn map_mmio(&mut self, dev: u64, res: u64, page: u64) -> Result<(Frame, u64), Error>;
    /// The page holding `paddr`, if an MMIO resource of the vbus holds it.
    fn map_mmio_at(&mut self, paddr: u64) -> Result<(Frame, u64), Error>;
    /// Binds `irq` to the notification the client sent (`cap`: whether it
    /// sent one; it is in the server's receive slot).
    fn icu_bind(&mut self, irq: u64, cap: bool) -> Result<(), Error>;
    fn icu_unbind(&mut self, irq: u64) -> Result<(), Error>;
    fn icu_mask(&mut self, irq: u64) -> Result<(), Error>;
    fn icu_unmask(&mut self, irq: u64) -> Result<(), Error>;
    fn icu_set_mode(&mut self, irq: u64, mode: u64) -> Result<(), Error>;
    fn icu_ack(&mut self, irq: u64) -> Result<(), Error>;
    /// The vbus's name (as io's configuration calls it).
    fn name(&mut self) -> &str;
    /// Runs after each request, before [`serve`] writes the reply into the
    /// IPC buffer, so it may still make invocations (to drop a cap the
    /// client sent that no method took, say).
    fn finish(&mut self) {}
}

/// A reply: its label, how many words of the reply buffer it uses, and
/// the cptr of a cap to send with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub label: u64,
    pub len: usize,
    pub cap: Option<u64>,
}

fn done(r: Result<(), Error>, reply: &mut [u64]) -> Result<Response, Error> {
    r.map(|()| Response { label: 0, len: 0, cap: None }).or_else(|e| Ok(fail(e, reply)))
}

fn fail(e: Error, reply: &mut [u64]) -> Response {
    let (label, w0) = e.encode();
    reply[0] = w0;
    Response { label, len: 1, cap: None }
}

/// Answers request `label` with words `req`; `cap` says whether a cap
/// came with it. `reply` receives the reply's words (at least 64).
pub fn dispatch<H: Handler + ?Sized>(
    h: &mut H,
    label: u64,
    req: &[u64],
    cap: bool,
    reply: &mut [u64],
) -> Response {
    let go = |h: &mut H, reply: &mut [u64]| -> Result<Response, Error> {
        let frame = |r: Result<(Frame, u64), Error>, reply: &mut [u64]| {
            let (f, c) = r?;
            Ok(Response { label: 0, len: f.encode(reply), cap: Some(c) })
        };
        match Request::decode(label, req)? {
            Request::Device { index } => {
                let d = h.device(index)?;
                Ok(Response { label: 0, len: d.encode(reply), cap: None })
            }
            Request::Resource { dev, res } => {
                let r = h.resource(dev, res)?;
                Ok(Response { label: 0, len: r.encode(reply), cap: None })
            }
            Request::MapMmio { dev, res, page } => frame(h.map_mmio(dev, res, page), reply),
            Request::MapMmioAt { paddr } => frame(h.map_mmio_at(paddr), reply),
            Request::Bind { irq } => done(h.icu_bind(irq, cap), reply),
            Request::Unbind { irq } => done(h.icu_unbind(irq), reply),
            Request::Mask { irq } => done(h.icu_mask(irq), reply),
            Request::Unmask { irq } => done(h.icu_unmask(irq), reply),
            Request::SetMode { irq, mode } => done(h.icu_set_mode(irq, mode), reply),
            Request::Ack { irq } => done(h.icu_ack(irq), reply),
            Request::Name => {
                let n = h.name().as_bytes();
                let n = &n[..n.len().min(8 * (reply.len() - 1))];
                reply[0] = n.len() as u64;
                Ok(Response {
                    label: 0,
                    len: 1 + program_env::pack_bytes(n, &mut reply[1..]),
                    cap: None,
                })
            }
        }
    };
    go(h, reply).unwrap_or_else(|e| fail(e, reply))
}

/// Answers the message `info` that `Recv` left in this thread's IPC
/// buffer: the reply is in the buffer, its info returned (for `Reply` or
/// `ReplyRecv`).
pub fn serve<H: Handler + ?Sized>(h: &mut H, info: &MessageInfo) -> MessageInfo {
    let mut req = [0u64; 4];
    let n = info.length().min(req.len());
    sel4::with_ipc_buffer(|b| req[..n].copy_from_slice(&b.msg_regs()[..n]));
    let cap = info.extra_caps() > 0 && info.caps_unwrapped() == 0;
    let mut reply = [0u64; 72];
    let r = dispatch(h, info.label(), &req[..n], cap, &mut reply);
    h.finish();
    sel4::with_ipc_buffer_mut(|b| {
        b.msg_regs_mut()[..r.len].copy_from_slice(&reply[..r.len]);
        if let Some(c) = r.cap {
            b.caps_or_badges_mut()[0] = c;
        }
    });
    MessageInfo::new(r.label, 0, r.cap.is_some() as usize, r.len)
}
