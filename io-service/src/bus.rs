//! One vbus as its client sees it: io's [`vbus_api::server::Handler`]. A
//! request may only reach the devices, MMIO pages and IRQs of this bus.
//!
//! A bound IRQ signals the client's notification directly (io is not on
//! the delivery path); the kernel masks the line until the client's
//! `ICU_ACK`. While masked through the ICU the line signals a notification
//! of io's instead, which `ICU_UNMASK` polls: a delivery that came
//! meanwhile is passed on then, so neither an edge nor a level is lost.

use io_config::{Config, ICU_NAME, ResKind, Resource, Trigger, VDev, flags};
use sel4::{CapRights, ObjectBlueprint, cap};
use vbus_api::server::Handler;
use vbus_api::{DeviceInfo, Error, Frame, ResourceInfo, rights};

use crate::caps::{Slots, at, cap_at, own_cnode};
use crate::hw::{Hardware, Irq};

/// Everything io holds, shared by the threads serving the vbusses.
pub struct Io {
    pub cfg: Config,
    pub hw: Hardware,
    pub slots: Slots,
    /// io's own memory (the `mem` untyped), for notifications.
    pub mem: cap::Untyped,
}

/// A request on vbus `bus`, served by the thread that took it: `recv` is
/// where a cap the client sent lands, `scratch` where io puts a cap it
/// sends back.
pub struct BusServer<'a> {
    pub io: &'a mut Io,
    pub bus: usize,
    pub recv: u64,
    pub scratch: u64,
}

fn kernel(e: sel4::Error) -> Error {
    Error::Kernel(e as u64)
}

impl BusServer<'_> {
    fn vdev(&self, dev: u64) -> Result<VDev<'_>, Error> {
        let devs = self.io.cfg.vbus_devices(self.bus);
        devs.get(dev as usize).copied().ok_or(Error::NoDevice)
    }

    /// A cap to the frame of the page at `page` with `r`'s rights, in the
    /// scratch slot.
    fn frame(&mut self, r: &Resource, page: u64) -> Result<(Frame, u64), Error> {
        let src = *self.io.hw.frames.get(&page).ok_or(Error::NoMmioResource)?;
        let (caps, bits) = if r.read_only() {
            (CapRights::read_only(), rights::READ)
        } else {
            (CapRights::read_write(), rights::READ | rights::WRITE)
        };
        let _ = at(self.scratch).delete();
        at(self.scratch).copy(&at(src), caps).map_err(kernel)?;
        Ok((Frame { paddr: page, rights: bits, flags: r.flags }, self.scratch))
    }

    /// IRQ `irq` if it is on this bus.
    fn irq(&mut self, irq: u64) -> Result<&mut Irq, Error> {
        if !self.io.cfg.irq_on_bus(self.bus, irq) {
            return Err(Error::NoIrqResource);
        }
        self.io.hw.irqs.iter_mut().find(|i| i.num == irq).ok_or(Error::NoIrqResource)
    }

    /// IRQ `irq`, bound through this bus: it and the client's notification.
    fn bound(&mut self, irq: u64) -> Result<(&mut Irq, u64), Error> {
        let bus = self.bus;
        let i = self.irq(irq)?;
        match i.bound {
            Some((b, n)) if b == bus => Ok((i, n)),
            Some(_) => Err(Error::Busy),
            None => Err(Error::NotBound),
        }
    }

    /// The notification a masked line signals, made on first use.
    fn sink(&mut self, irq: u64) -> Result<u64, Error> {
        let existing = self.irq(irq)?.sink;
        if let Some((_, badged)) = existing {
            return Ok(badged);
        }
        let (n, badged) = (self.take()?, self.take()?);
        let me = own_cnode().absolute_cptr_for_self();
        let made = self
            .io
            .mem
            .untyped_retype(&ObjectBlueprint::Notification, &me, n as usize, 1)
            .map_err(|_| Error::NoMemory)
            .and_then(|()| at(badged).mint(&at(n), CapRights::write_only(), 1).map_err(kernel));
        if let Err(e) = made {
            let _ = at(n).delete();
            self.io.slots.give_back(n);
            self.io.slots.give_back(badged);
            return Err(e);
        }
        self.irq(irq)?.sink = Some((n, badged));
        Ok(badged)
    }

    fn take(&mut self) -> Result<u64, Error> {
        self.io.slots.take().map_err(|_| Error::NoMemory)
    }
}

impl Handler for BusServer<'_> {
    fn name(&mut self) -> &str {
        &self.io.cfg.buses[self.bus].name
    }

    fn device(&mut self, index: u64) -> Result<DeviceInfo, Error> {
        let count = self.io.cfg.vbus_devices(self.bus).len() as u64;
        let cfg = &self.io.cfg;
        Ok(match self.vdev(index)? {
            VDev::Icu => DeviceInfo::new(index, count, 0, 0, ICU_NAME, ICU_NAME, []),
            VDev::Proxy(p) => {
                let hw = &cfg.devices[p.hw];
                let compat = hw.compatible.iter().map(|s| s.as_str());
                let n = hw.resources.len() as u64;
                DeviceInfo::new(index, count, 0, n, &p.name, &hw.hid, compat)
            }
        })
    }

    fn resource(&mut self, dev: u64, res: u64) -> Result<ResourceInfo, Error> {
        let d = self.vdev(dev)?;
        let r = self.io.cfg.vdev_resources(d).get(res as usize).ok_or(Error::NoResource)?;
        let kind = r.flags & flags::TYPE_MASK;
        Ok(ResourceInfo::new(kind, r.start, r.end, r.flags, &r.name))
    }

    fn map_mmio(&mut self, dev: u64, res: u64, page: u64) -> Result<(Frame, u64), Error> {
        let d = self.vdev(dev)?;
        let r = self.io.cfg.vdev_resources(d).get(res as usize).ok_or(Error::NoMmioResource)?;
        let addr = page.checked_mul(vbus_api::PAGE).and_then(|o| r.start.checked_add(o));
        match addr {
            Some(a) if r.kind == ResKind::Mmio && a <= r.end => {
                let r = r.clone();
                self.frame(&r, a)
            }
            _ => Err(Error::NoMmioResource),
        }
    }

    fn map_mmio_at(&mut self, paddr: u64) -> Result<(Frame, u64), Error> {
        let r = self.io.cfg.mmio_on_bus(self.bus, paddr).ok_or(Error::NoMmioResource)?.clone();
        self.frame(&r, paddr & !(vbus_api::PAGE - 1))
    }

    fn icu_bind(&mut self, irq: u64, cap: bool) -> Result<(), Error> {
        let bus = self.bus;
        match self.irq(irq)?.bound {
            Some((b, _)) if b != bus => return Err(Error::Busy),
            _ => {}
        }
        if !cap {
            return Err(Error::NoCap);
        }
        let n = self.take()?;
        if let Err(e) = at(n).move_(&at(self.recv)) {
            self.io.slots.give_back(n);
            return Err(kernel(e));
        }
        let i = self.irq(irq)?;
        let handler: cap::IrqHandler = cap_at(i.handler);
        if let Err(e) = handler.irq_handler_set_notification(cap_at(n)) {
            let _ = at(n).delete();
            self.io.slots.give_back(n);
            return Err(kernel(e));
        }
        let old = i.bound.replace((bus, n));
        i.masked = false;
        // The line may have fired and been masked before anyone listened.
        let acked = handler.irq_handler_ack().map_err(kernel);
        if let Some((_, o)) = old {
            let _ = at(o).delete();
            self.io.slots.give_back(o);
        }
        acked
    }

    fn icu_unbind(&mut self, irq: u64) -> Result<(), Error> {
        let (i, n) = self.bound(irq)?;
        let handler: cap::IrqHandler = cap_at(i.handler);
        handler.irq_handler_clear().map_err(kernel)?;
        i.bound = None;
        i.masked = false;
        let _ = at(n).delete();
        self.io.slots.give_back(n);
        Ok(())
    }

    fn icu_mask(&mut self, irq: u64) -> Result<(), Error> {
        if self.bound(irq)?.0.masked {
            return Ok(());
        }
        let sink = self.sink(irq)?;
        let (i, _) = self.bound(irq)?;
        let handler: cap::IrqHandler = cap_at(i.handler);
        handler.irq_handler_set_notification(cap_at(sink)).map_err(kernel)?;
        i.masked = true;
        Ok(())
    }

    fn icu_unmask(&mut self, irq: u64) -> Result<(), Error> {
        let (i, n) = self.bound(irq)?;
        if !i.masked {
            return Ok(());
        }
        let handler: cap::IrqHandler = cap_at(i.handler);
        handler.irq_handler_set_notification(cap_at(n)).map_err(kernel)?;
        i.masked = false;
        let fired =
            i.sink.is_some_and(|(s, _)| cap_at::<sel4::cap_type::Notification>(s).poll().1 != 0);
        if fired {
            // The kernel keeps the line masked until the client's ack.
            cap_at::<sel4::cap_type::Notification>(n).signal();
        }
        Ok(())
    }

    fn icu_set_mode(&mut self, irq: u64, mode: u64) -> Result<(), Error> {
        let bus = self.bus;
        let i = self.irq(irq)?;
        if i.bound.is_some_and(|(b, _)| b != bus) {
            return Err(Error::Busy);
        }
        let edge = Trigger::from_mode(mode).and_then(Trigger::on_gic).ok_or(Error::Unsupported)?;
        if mode == Trigger::None as u64 || edge == i.edge {
            return Ok(());
        }
        if !i.own {
            // Given, not made: io cannot make another.
            return Err(Error::Unsupported);
        }
        // A handler's trigger is fixed when it is made: make a new one.
        let icu: cap::IrqControl = sel4_runtime::get_cap!("icu").ok_or(Error::Unsupported)?;
        let handler: cap::IrqHandler = cap_at(i.handler);
        let _ = handler.irq_handler_clear();
        at(i.handler).delete().map_err(kernel)?;
        icu.irq_control_get_trigger(irq, edge, &at(i.handler)).map_err(kernel)?;
        i.edge = edge;
        let target = match (i.bound, i.masked, i.sink) {
            (Some(_), true, Some((_, s))) => Some(s),
            (Some((_, n)), _, _) => Some(n),
            (None, _, _) => None,
        };
        if let Some(t) = target {
            handler.irq_handler_set_notification(cap_at(t)).map_err(kernel)?;
            handler.irq_handler_ack().map_err(kernel)?;
        }
        Ok(())
    }

    fn icu_ack(&mut self, irq: u64) -> Result<(), Error> {
        let (i, _) = self.bound(irq)?;
        let handler: cap::IrqHandler = cap_at(i.handler);
        handler.irq_handler_ack().map_err(kernel)
    }

    fn finish(&mut self) {
        // A cap the client sent that no request took.
        let _ = at(self.recv).delete();
    }
}
