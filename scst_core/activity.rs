// SPDX-License-Identifier: GPL-2.0

//! Suspending command execution around configuration changes (SCST's
//! `scst_suspend_activity()` and `scst_resume_activity()`).
//!
//! Every command executes inside an [`Active`] guard. A configuration change
//! first takes a [`Suspended`] guard: from then on no command starts
//! executing (the command threads set newly arriving ones aside), and the
//! change waits until the executing ones have finished. So a LUN that a
//! `del` removed has no command running through its old mapping once the
//! write returns, and a command sees either the old configuration or the
//! new one, never a mix. Dropping the last [`Suspended`] guard hands the
//! commands set aside back to the command threads, in arrival order.

use crate::threads::{
    Pool,
    Work, //
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
};

/// How long a configuration change waits for executing commands.
const SUSPEND_TIMEOUT_MS: u32 = 60_000;

/// The slow path's state.
struct State {
    /// Configuration changes holding a [`Suspended`] guard (the count that
    /// [`Activity::suspended`] mirrors).
    suspended: usize,
    /// Commands that arrived while suspended, oldest first.
    deferred: KVec<KBox<dyn Work>>,
}

/// The gate between the command threads and configuration changes.
///
/// The command path takes no lock: a command counts itself in `executing`
/// and then reads `suspended`, a change counts itself in `suspended` and
/// then reads `executing`, both with full barriers, so one of the two
/// always sees the other (the command backs out, or the change waits for
/// it). The mutex serializes changes, the deferred list and the wake-ups.
#[pin_data]
pub(crate) struct Activity {
    /// Commands between [`Activity::enter`] and the end of their execution.
    executing: Atomic<usize>,
    /// Non-zero while a configuration change is in progress.
    suspended: Atomic<usize>,
    #[pin]
    state: Mutex<State>,
    /// Signalled when the last executing command leaves while suspended,
    /// and when a suspension ends (for commands that could not be deferred).
    #[pin]
    changed: CondVar,
    /// Where deferred commands go on resume.
    pool: Arc<Pool>,
}

/// A command executing: configuration changes wait for its drop.
pub(crate) struct Active {
    activity: Arc<Activity>,
}

/// Execution is suspended until this is dropped (see
/// [`crate::suspend_activity`]).
pub struct Suspended {
    activity: Arc<Activity>,
}

impl Activity {
    /// A gate that resumes deferred commands on `pool`.
    pub(crate) fn new(pool: Arc<Pool>) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                executing: Atomic::new(0),
                suspended: Atomic::new(0),
                state <- kernel::new_mutex!(
                    State { suspended: 0, deferred: KVec::new() },
                    "scst::Activity"
                ),
                changed <- kernel::new_condvar!("scst::Activity::changed"),
                pool,
            }),
            GFP_KERNEL,
        )
    }

    /// One command less executing; wakes a waiting change after the last.
    fn leave(&self) {
        if self.executing.fetch_sub(1, Full) == 1 && self.suspended.load(Relaxed) != 0 {
            // Under the mutex: the change checks `executing` under it
            // before it sleeps, so this wake-up cannot be lost.
            let _st = self.state.lock();
            self.changed.notify_all();
        }
    }

    /// Lets `w` start executing, or sets it aside while a configuration
    /// change is in progress (`None`: it is deferred and will run again
    /// on resume). Called by a command thread.
    pub(crate) fn enter<W: Work + 'static>(
        self: &Arc<Self>,
        w: KBox<W>,
    ) -> Option<(KBox<W>, Active)> {
        loop {
            self.executing.fetch_add(1, Full);
            if self.suspended.load(Relaxed) == 0 {
                return Some((
                    w,
                    Active {
                        activity: self.clone(),
                    },
                ));
            }
            // A change is in progress: back out, then set the command
            // aside unless the change ended meanwhile.
            self.leave();
            let mut st = self.state.lock();
            if st.suspended == 0 {
                continue;
            }
            if st.deferred.reserve(1, GFP_KERNEL).is_ok() {
                let w: KBox<dyn Work> = w;
                // Cannot fail: room was reserved.
                let _ = st.deferred.push(w, GFP_KERNEL);
                return None;
            }
            // No memory to set it aside: this thread waits instead.
            while st.suspended != 0 {
                self.changed.wait(&mut st);
            }
        }
    }

    /// Stops commands from starting and waits until none executes.
    ///
    /// Fails with `EBUSY` if commands still execute after a minute and
    /// with `EINTR` on a signal; execution then goes on as before.
    /// Must not be called with a lock that executing commands take (the
    /// configuration mutex in particular): take the guard first.
    pub(crate) fn suspend(self: &Arc<Self>) -> Result<Suspended> {
        let mut st = self.state.lock();
        st.suspended += 1;
        self.suspended.fetch_add(1, Full);
        let guard = Suspended {
            activity: self.clone(),
        };
        let mut left = kernel::time::msecs_to_jiffies(SUSPEND_TIMEOUT_MS);
        while self.executing.load(Relaxed) != 0 {
            match self.changed.wait_interruptible_timeout(&mut st, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                CondVarTimeoutResult::Timeout => {
                    let n = self.executing.load(Relaxed);
                    drop(st);
                    pr_warn!(
                        "configuration change refused: {} commands still executing after {} s\n",
                        n,
                        SUSPEND_TIMEOUT_MS / 1000
                    );
                    // Dropping the guard resumes.
                    drop(guard);
                    return Err(EBUSY);
                }
                CondVarTimeoutResult::Signal { .. } => {
                    drop(st);
                    drop(guard);
                    return Err(EINTR);
                }
            }
        }
        Ok(guard)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.activity.leave();
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        let a = &self.activity;
        let deferred = {
            let mut st = a.state.lock();
            st.suspended -= 1;
            a.suspended.fetch_sub(1, Full);
            if st.suspended != 0 {
                return;
            }
            a.changed.notify_all();
            core::mem::take(&mut st.deferred)
        };
        // Outside the lock: a command that cannot be queued completes
        // itself, and that may take locks of its own.
        for w in deferred {
            if let Err(w) = a.pool.try_submit(w) {
                w.run();
            }
        }
    }
}
