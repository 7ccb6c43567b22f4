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

use kernel::{
    alloc::{
        AllocError,
        KVVec, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};
use scst_sys::shrinker::ShrinkerOps;

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

/// The smallest cached buffer size; classes double from here.
const MIN_CLASS: usize = 4096;
/// Size classes: `MIN_CLASS << c`, up to the largest transfer (8 MiB).
const CLASSES: usize = 12;
/// Buffers one class keeps at most.
const MAX_PER_CLASS: usize = 128;

/// The size class of a buffer of `len` bytes, if it is cached at all.
fn class_of(len: usize) -> Option<usize> {
    let c = len
        .max(1)
        .div_ceil(MIN_CLASS)
        .next_power_of_two()
        .trailing_zeros() as usize;
    (c < CLASSES).then_some(c)
}

struct Free {
    /// Idle buffers per class, each of capacity exactly `MIN_CLASS << c`.
    /// Room for `MAX_PER_CLASS` is reserved up front, so caching a buffer
    /// never allocates (the shrinker may run inside an allocation).
    lists: [KVec<KVVec<u8>>; CLASSES],
    /// Bytes held by the idle buffers.
    bytes: u64,
}

/// The reusing cache of command data buffers (SCST's sgv pools): buffers
/// of power-of-two size classes go back to a free list when their command
/// ends, so the next command of that size skips the allocator (for large
/// buffers, a `vmalloc` and its unmapping). The idle buffers are bounded
/// and a memory shrinker frees them when the kernel needs the memory.
#[pin_data]
pub(crate) struct BufCache {
    #[pin]
    free: Mutex<Free>,
    /// Bytes the idle buffers may hold at most.
    cap: u64,
    hits: Atomic<u64>,
    misses: Atomic<u64>,
    /// Buffers freed by the shrinker.
    shrunk: Atomic<u64>,
}

/// A snapshot of [`BufCache`] for `/proc/scsi_tgt/sgv`.
pub(crate) struct CacheStats {
    pub(crate) cap: u64,
    pub(crate) buffers: usize,
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) shrunk: u64,
}

impl BufCache {
    /// An empty cache holding at most `cap` bytes of idle buffers.
    pub(crate) fn new(cap: u64) -> Result<Arc<Self>> {
        let mut lists: [KVec<KVVec<u8>>; CLASSES] = Default::default();
        for l in lists.iter_mut() {
            l.reserve(MAX_PER_CLASS, GFP_KERNEL)?;
        }
        Arc::pin_init(
            try_pin_init!(Self {
                free <- kernel::new_mutex!(Free { lists, bytes: 0 }, "scst::BufCache"),
                cap,
                hits: Atomic::new(0),
                misses: Atomic::new(0),
                shrunk: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// A zeroed buffer of `len` bytes, from the cache when it has one of
    /// the size class (zeroed all the same: it held another command's data).
    pub(crate) fn get(&self, len: usize) -> core::result::Result<KVVec<u8>, AllocError> {
        if len == 0 {
            return Ok(KVVec::new());
        }
        let Some(c) = class_of(len) else {
            return KVVec::from_elem(0u8, len, GFP_KERNEL);
        };
        let cached = {
            let mut f = self.free.lock();
            let b = f.lists[c].pop();
            if let Some(b) = &b {
                f.bytes -= b.capacity() as u64;
            }
            b
        };
        let mut b = match cached {
            Some(b) => {
                self.hits.add(1, Relaxed);
                b
            }
            None => {
                self.misses.add(1, Relaxed);
                KVVec::with_capacity(MIN_CLASS << c, GFP_KERNEL)?
            }
        };
        b.clear();
        // Within the capacity: this only writes zeroes.
        b.resize(len, 0, GFP_KERNEL)?;
        Ok(b)
    }

    /// Takes back a buffer whose command has ended; keeps it if it is of a
    /// size class and there is room, frees it otherwise.
    pub(crate) fn put(&self, b: KVVec<u8>) {
        let cap = b.capacity();
        let Some(c) = class_of(cap).filter(|&c| MIN_CLASS << c == cap) else {
            return;
        };
        let rejected = {
            let mut guard = self.free.lock();
            let f = &mut *guard;
            let l = &mut f.lists[c];
            if l.len() < l.capacity() && f.bytes + cap as u64 <= self.cap {
                // Cannot fail or allocate: there is room.
                let _ = l.push(b, GFP_KERNEL);
                f.bytes += cap as u64;
                None
            } else {
                Some(b)
            }
        };
        // Freed outside the lock (vfree may sleep).
        drop(rejected);
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> CacheStats {
        let (buffers, bytes) = {
            let f = self.free.lock();
            (f.lists.iter().map(|l| l.len()).sum(), f.bytes)
        };
        CacheStats {
            cap: self.cap,
            buffers,
            bytes,
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            shrunk: self.shrunk.load(Relaxed),
        }
    }
}

impl ShrinkerOps for BufCache {
    /// Idle memory in pages.
    fn count(&self) -> u64 {
        match self.free.try_lock() {
            Some(f) => f.bytes / PAGE_SIZE as u64,
            None => 0,
        }
    }

    /// Frees idle buffers, largest first, until `nr` pages are freed.
    fn scan(&self, nr: u64) -> Option<u64> {
        let mut freed = 0u64;
        while freed < nr {
            let b = {
                // Never wait here: the holder may be the one reclaiming.
                let Some(mut f) = self.free.try_lock() else {
                    return (freed != 0).then_some(freed);
                };
                let b = f.lists.iter_mut().rev().find_map(|l| l.pop());
                if let Some(b) = &b {
                    f.bytes -= b.capacity() as u64;
                }
                b
            };
            let Some(b) = b else {
                break;
            };
            freed += (b.capacity() / PAGE_SIZE) as u64;
            self.shrunk.add(1, Relaxed);
            drop(b);
        }
        Some(freed)
    }
}
