// SPDX-License-Identifier: GPL-2.0

//! Command buffer memory: the bytes that commands in flight hold for their
//! data (the data-out buffer the driver collected and the data-in buffer
//! the core allocates), against the limit `scst_max_cmd_mem` (SCST's
//! parameter of the same name, in MiB; default a quarter of RAM).
//!
//! Every command reserves its size when the core receives it and gives it
//! back when it is dropped. A command that would go over the limit is
//! answered at once, like SCST's `scst_set_busy()`: TASK SET FULL if its
//! session has other commands in flight (they will finish and make room),
//! BUSY otherwise. The first command always fits, so a limit below one
//! command cannot stall a target. `/proc/scsi_tgt/sgv` shows the counters.

use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};

/// The counters of command buffer memory.
pub(crate) struct CmdMem {
    /// The limit in bytes.
    limit: u64,
    /// Bytes reserved by commands in flight.
    used: Atomic<u64>,
    /// The highest `used` seen.
    peak: Atomic<u64>,
    /// Commands admitted.
    admitted: Atomic<u64>,
    /// Commands refused for the limit.
    refused: Atomic<u64>,
}

/// A snapshot of [`CmdMem`] for `/proc/scsi_tgt/sgv`.
pub(crate) struct Stats {
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) peak: u64,
    pub(crate) admitted: u64,
    pub(crate) refused: u64,
}

impl CmdMem {
    /// Counters for a limit of `limit` bytes.
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            limit,
            used: Atomic::new(0),
            peak: Atomic::new(0),
            admitted: Atomic::new(0),
            refused: Atomic::new(0),
        }
    }

    /// Reserves `len` bytes for one command; false if that would go over
    /// the limit while other commands hold memory.
    pub(crate) fn reserve(&self, len: u64) -> bool {
        let mut cur = self.used.load(Relaxed);
        let new = loop {
            let new = cur.saturating_add(len);
            if cur != 0 && new > self.limit {
                self.refused.add(1, Relaxed);
                return false;
            }
            match self.used.cmpxchg(cur, new, Relaxed) {
                Ok(_) => break new,
                Err(c) => cur = c,
            }
        };
        self.admitted.add(1, Relaxed);
        let mut p = self.peak.load(Relaxed);
        while new > p {
            match self.peak.cmpxchg(p, new, Relaxed) {
                Ok(_) => break,
                Err(c) => p = c,
            }
        }
        true
    }

    /// Gives back what [`CmdMem::reserve`] took.
    pub(crate) fn release(&self, len: u64) {
        self.used.fetch_sub(len, Relaxed);
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            limit: self.limit,
            used: self.used.load(Relaxed),
            peak: self.peak.load(Relaxed),
            admitted: self.admitted.load(Relaxed),
            refused: self.refused.load(Relaxed),
        }
    }
}
