// SPDX-License-Identifier: GPL-2.0

//! Portals: one listening socket and one accepting thread per configured
//! address. Each accepted connection gets its own thread (see
//! [`crate::conn`]), which does the login and then receives PDUs.

use crate::{conn, proto::cfg, State};
use kernel::{prelude::*, sync::Arc};
use scst_sys::{
    kthread::{self, KThread},
    net::{SockAddr, Socket},
};

/// How often the accepting thread looks at its stop flag and reaps finished
/// connections (milliseconds).
const ACCEPT_POLL_MS: u32 = 500;

/// Pending connections the kernel queues before `accept()`.
const BACKLOG: u32 = 128;

/// A listening portal.
pub(crate) struct Portal {
    pub(crate) addr: cfg::Portal,
    sock: Arc<Socket>,
    // Declared last: dropped (stopped) after the socket is shut down.
    _thread: KThread,
}

pub(crate) fn sockaddr(p: cfg::Portal) -> SockAddr {
    match p {
        cfg::Portal::V4(a, port) => SockAddr::V4(a, port),
        cfg::Portal::V6(a, port) => SockAddr::V6(a, port, 0),
    }
}

impl Portal {
    /// Listens on `addr` and starts accepting connections for `state`.
    pub(crate) fn new(state: &Arc<State>, addr: cfg::Portal) -> Result<Self> {
        let sock = Arc::new(Socket::listen(sockaddr(addr), BACKLOG)?, GFP_KERNEL)?;
        sock.set_rcv_timeout(Some(ACCEPT_POLL_MS));
        let (s, st) = (sock.clone(), state.clone());
        let thread = KThread::spawn(c"iscsi_portal", None, move || accept_loop(&st, &s))?;
        pr_info!("iscsi: listening on {}\n", sockaddr(addr));
        Ok(Self {
            addr,
            sock,
            _thread: thread,
        })
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        // Wakes the accepting thread; the thread is stopped next.
        self.sock.shutdown();
        pr_info!("iscsi: stopped listening on {}\n", sockaddr(self.addr));
    }
}

fn accept_loop(state: &Arc<State>, sock: &Socket) {
    while !kthread::should_stop() {
        match sock.accept() {
            Ok(s) => {
                if let Err(e) = conn::start(state, s) {
                    pr_warn!("iscsi: cannot start a connection: {:?}\n", e);
                }
            }
            Err(e) if e == EAGAIN => state.reap(),
            Err(_) => {
                // Shut down (or a transient error): wait for the stop.
                state.reap();
                kernel::time::delay::fsleep(kernel::time::Delta::from_millis(
                    ACCEPT_POLL_MS.into(),
                ));
            }
        }
    }
}
