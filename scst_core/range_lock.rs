// SPDX-License-Identifier: GPL-2.0

//! Block range locks of a device, over [`crate::proto::extent`].
//!
//! Writes hold their blocks shared and COMPARE AND WRITE / ORWRITE hold
//! them exclusively while they run, so a read-modify-write is atomic with
//! respect to every other write of the device. Waiting happens in command
//! threads, which may sleep; a holder never waits for anything but its own
//! I/O, so waiting always ends.

use crate::proto::extent::{
    Acquire,
    Mode,
    RangeTable,
    Ticket, //
};
use kernel::{
    prelude::*,
    sync::{
        CondVar,
        Mutex, //
    },
};

/// The ranges being modified on one device.
#[pin_data]
pub(crate) struct RangeLocks {
    #[pin]
    table: Mutex<RangeTable>,
    #[pin]
    released: CondVar,
}

/// Holds a block range until dropped.
pub(crate) struct RangeGuard<'a> {
    locks: &'a RangeLocks,
    ticket: Option<Ticket>,
}

impl RangeLocks {
    /// No range held.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            table <- kernel::new_mutex!(RangeTable::new(), "scst::RangeLocks::table"),
            released <- kernel::new_condvar!("scst::RangeLocks::released"),
        })
    }

    /// Holds `blocks` blocks from `lba` in `mode`, waiting for conflicting
    /// holders to finish.
    pub(crate) fn lock(&self, lba: u64, blocks: u64, mode: Mode) -> RangeGuard<'_> {
        let mut t = self.table.lock();
        loop {
            match t.acquire(lba, blocks, mode) {
                Acquire::Granted(ticket) => {
                    return RangeGuard {
                        locks: self,
                        ticket: Some(ticket),
                    }
                }
                Acquire::Queued(ticket) => {
                    while !t.try_grant(&ticket) {
                        self.released.wait(&mut t);
                    }
                    return RangeGuard {
                        locks: self,
                        ticket: Some(ticket),
                    };
                }
                Acquire::Busy => self.released.wait(&mut t),
            }
        }
    }
}

impl Drop for RangeGuard<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            self.locks.table.lock().release(t);
            self.locks.released.notify_all();
        }
    }
}
