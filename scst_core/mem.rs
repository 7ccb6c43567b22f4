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
/// Buffers one class of one shard keeps at most.
const MAX_PER_CLASS: usize = 32;
/// Shards at most (CPUs beyond share them round robin).
const MAX_SHARDS: u32 = 64;

/// The size class of a buffer of `len` bytes, if it is cached at all.
fn class_of(len: usize) -> Option<usize> {
    let c = len
        .max(1)
        .div_ceil(MIN_CLASS)
        .next_power_of_two()
        .trailing_zeros() as usize;
    (c < CLASSES).then_some(c)
}

/// Idle buffers per class, each of capacity exactly `MIN_CLASS << c`.
/// Room for `MAX_PER_CLASS` is reserved up front, so caching a buffer
/// never allocates (the shrinker may run inside an allocation).
type Lists = [KVec<KVVec<u8>>; CLASSES];

/// The free lists of one CPU (or a few).
#[pin_data]
struct Shard {
    #[pin]
    lists: Mutex<Lists>,
}

/// The reusing cache of command data buffers (SCST's sgv pools): buffers
/// of power-of-two size classes go back to a free list when their command
/// ends, so the next command of that size skips the allocator (for large
/// buffers, a `vmalloc` and its unmapping). The free lists are per CPU, so
/// the command path takes no global lock; the idle buffers are bounded and
/// a memory shrinker frees them when the kernel needs the memory.
pub(crate) struct BufCache {
    shards: KVec<Arc<Shard>>,
    /// Bytes the idle buffers may hold at most.
    cap: u64,
    /// Bytes held by idle buffers, over all shards.
    idle: Atomic<u64>,
    /// Idle buffers, over all shards.
    buffers: Atomic<u64>,
    hits: Atomic<u64>,
    misses: Atomic<u64>,
    /// Buffers freed by the shrinker.
    shrunk: Atomic<u64>,
}

/// A snapshot of [`BufCache`] for `/proc/scsi_tgt/sgv`.
pub(crate) struct CacheStats {
    pub(crate) cap: u64,
    pub(crate) buffers: u64,
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) shrunk: u64,
}

impl BufCache {
    /// An empty cache holding at most `cap` bytes of idle buffers.
    pub(crate) fn new(cap: u64) -> Result<Arc<Self>> {
        let n = kernel::cpu::nr_cpu_ids().clamp(1, MAX_SHARDS) as usize;
        let mut shards = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let mut lists: Lists = Default::default();
            for l in lists.iter_mut() {
                l.reserve(MAX_PER_CLASS, GFP_KERNEL)?;
            }
            let shard = Arc::pin_init(
                pin_init!(Shard {
                    lists <- kernel::new_mutex!(lists, "scst::BufCache::shard"),
                }),
                GFP_KERNEL,
            )?;
            shards.push(shard, GFP_KERNEL)?;
        }
        Ok(Arc::new(
            Self {
                shards,
                cap,
                idle: Atomic::new(0),
                buffers: Atomic::new(0),
                hits: Atomic::new(0),
                misses: Atomic::new(0),
                shrunk: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The shard of the CPU we run on (a hint: the thread may move, which
    /// only costs locality).
    fn local(&self) -> Option<&Shard> {
        let cpu = kernel::cpu::CpuId::current().as_u32() as usize;
        self.shards
            .get(cpu.checked_rem(self.shards.len())?)
            .map(|s| &**s)
    }

    /// Counts a buffer of `cap` bytes out of the idle ones.
    fn took(&self, cap: usize) {
        self.idle.fetch_sub(cap as u64, Relaxed);
        self.buffers.fetch_sub(1, Relaxed);
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
        // The local shard first, then any other that is not busy: buffers
        // move between CPUs when the thread that frees them (a command
        // thread) is not the one that takes them (a driver's receiver).
        let cached = self
            .local()
            .and_then(|s| s.lists.lock().get_mut(c).and_then(|l| l.pop()))
            .or_else(|| {
                self.shards.iter().find_map(|s| {
                    s.lists
                        .try_lock()
                        .and_then(|mut l| l.get_mut(c).and_then(|l| l.pop()))
                })
            });
        let mut b = match cached {
            Some(b) => {
                self.took(b.capacity());
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
        // Room in the global bound first, given back if the list is full.
        if self.idle.fetch_add(cap as u64, Relaxed) + cap as u64 > self.cap {
            self.idle.fetch_sub(cap as u64, Relaxed);
            return;
        }
        let rejected = match self.local() {
            Some(shard) => {
                let mut lists = shard.lists.lock();
                match lists.get_mut(c) {
                    Some(l) if l.len() < l.capacity() => {
                        // Cannot fail or allocate: there is room.
                        let _ = l.push(b, GFP_KERNEL);
                        None
                    }
                    _ => Some(b),
                }
            }
            None => Some(b),
        };
        match rejected {
            // Freed outside the lock (vfree may sleep).
            Some(b) => {
                self.idle.fetch_sub(cap as u64, Relaxed);
                drop(b);
            }
            None => {
                self.buffers.add(1, Relaxed);
            }
        }
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            cap: self.cap,
            buffers: self.buffers.load(Relaxed),
            bytes: self.idle.load(Relaxed),
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            shrunk: self.shrunk.load(Relaxed),
        }
    }
}

impl ShrinkerOps for BufCache {
    /// Idle memory in pages.
    fn count(&self) -> u64 {
        self.idle.load(Relaxed) / PAGE_SIZE as u64
    }

    /// Frees idle buffers, largest first within each shard, until `nr`
    /// pages are freed.
    fn scan(&self, nr: u64) -> Option<u64> {
        let mut freed = 0u64;
        let mut busy = false;
        for shard in self.shards.iter() {
            while freed < nr {
                // Never wait here: the holder may be the one reclaiming.
                let Some(mut lists) = shard.lists.try_lock() else {
                    busy = true;
                    break;
                };
                let b = lists.iter_mut().rev().find_map(|l| l.pop());
                drop(lists);
                let Some(b) = b else {
                    break;
                };
                self.took(b.capacity());
                freed += (b.capacity() / PAGE_SIZE) as u64;
                self.shrunk.add(1, Relaxed);
                drop(b);
            }
        }
        (freed != 0 || !busy).then_some(freed)
    }
}
