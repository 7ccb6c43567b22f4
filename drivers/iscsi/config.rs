// SPDX-License-Identifier: GPL-2.0

//! The iSCSI configuration: targets, their parameters and CHAP accounts, and
//! the discovery settings. Changed through `/proc/scsi_tgt/iscsi/iscsi`
//! (grammar in [`crate::proto::cfg`]), read by logins.

use crate::proto::cfg::{self, Digests, Direction, Key};
use kernel::{prelude::*, seq_file::SeqFile, seq_print, str::CString};
use scst_core::proto::acl;

/// The administrator's iSCSI parameters of a target (or of discovery).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    pub(crate) header_digest: Digests,
    pub(crate) data_digest: Digests,
    pub(crate) initial_r2t: bool,
    pub(crate) immediate_data: bool,
    pub(crate) max_recv_data_segment_length: u32,
    pub(crate) max_xmit_data_segment_length: u32,
    pub(crate) max_burst_length: u32,
    pub(crate) first_burst_length: u32,
    pub(crate) max_outstanding_r2t: u32,
    pub(crate) default_time2wait: u32,
    pub(crate) default_time2retain: u32,
    pub(crate) queued_commands: u32,
    pub(crate) nop_in_interval: u32,
    pub(crate) nop_in_timeout: u32,
}

impl Default for Params {
    /// SCST's local defaults where they are sound: no initial R2T,
    /// immediate data, large segments and bursts, 32 queued commands,
    /// pings after 30 s of silence.
    fn default() -> Self {
        Self {
            header_digest: Digests::NoneOrCrc32c,
            data_digest: Digests::NoneOrCrc32c,
            initial_r2t: false,
            immediate_data: true,
            max_recv_data_segment_length: 256 * 1024,
            max_xmit_data_segment_length: 256 * 1024,
            max_burst_length: 1024 * 1024,
            first_burst_length: 256 * 1024,
            max_outstanding_r2t: 16,
            default_time2wait: 2,
            default_time2retain: 20,
            queued_commands: 32,
            nop_in_interval: 30,
            nop_in_timeout: 30,
        }
    }
}

impl Params {
    /// Applies one `set`; the result must stay consistent
    /// (FirstBurstLength <= MaxBurstLength, RFC 7143 section 13.14).
    fn set(&mut self, key: Key) -> Result {
        let mut new = *self;
        match key {
            Key::HeaderDigest(d) => new.header_digest = d,
            Key::DataDigest(d) => new.data_digest = d,
            Key::InitialR2T(b) => new.initial_r2t = b,
            Key::ImmediateData(b) => new.immediate_data = b,
            Key::MaxRecvDataSegmentLength(v) => new.max_recv_data_segment_length = v,
            Key::MaxXmitDataSegmentLength(v) => new.max_xmit_data_segment_length = v,
            Key::MaxBurstLength(v) => new.max_burst_length = v,
            Key::FirstBurstLength(v) => new.first_burst_length = v,
            Key::MaxOutstandingR2T(v) => new.max_outstanding_r2t = v,
            Key::DefaultTime2Wait(v) => new.default_time2wait = v,
            Key::DefaultTime2Retain(v) => new.default_time2retain = v,
            Key::QueuedCommands(v) => new.queued_commands = v,
            Key::NopInInterval(v) => new.nop_in_interval = v,
            Key::NopInTimeout(v) => new.nop_in_timeout = v,
        }
        if new.first_burst_length > new.max_burst_length {
            pr_warn!(
                "iscsi: FirstBurstLength {} would exceed MaxBurstLength {}\n",
                new.first_burst_length,
                new.max_burst_length
            );
            return Err(EINVAL);
        }
        *self = new;
        Ok(())
    }

    fn show(&self, m: &SeqFile, indent: &str) {
        let d = |d: Digests| match d {
            Digests::None => "None",
            Digests::Crc32c => "CRC32C",
            Digests::Crc32cOrNone => "CRC32C,None",
            Digests::NoneOrCrc32c => "None,CRC32C",
        };
        let yn = |b: bool| if b { "Yes" } else { "No" };
        seq_print!(m, "{}HeaderDigest {}\n", indent, d(self.header_digest));
        seq_print!(m, "{}DataDigest {}\n", indent, d(self.data_digest));
        seq_print!(m, "{}InitialR2T {}\n", indent, yn(self.initial_r2t));
        seq_print!(m, "{}ImmediateData {}\n", indent, yn(self.immediate_data));
        for (k, v) in [
            (
                "MaxRecvDataSegmentLength",
                self.max_recv_data_segment_length,
            ),
            (
                "MaxXmitDataSegmentLength",
                self.max_xmit_data_segment_length,
            ),
            ("MaxBurstLength", self.max_burst_length),
            ("FirstBurstLength", self.first_burst_length),
            ("MaxOutstandingR2T", self.max_outstanding_r2t),
            ("DefaultTime2Wait", self.default_time2wait),
            ("DefaultTime2Retain", self.default_time2retain),
            ("QueuedCommands", self.queued_commands),
            ("NopInInterval", self.nop_in_interval),
            ("NopInTimeout", self.nop_in_timeout),
        ] {
            seq_print!(m, "{}{} {}\n", indent, k, v);
        }
    }
}

/// A CHAP account.
pub(crate) struct User {
    pub(crate) name: CString,
    pub(crate) secret: KVec<u8>,
}

/// CHAP accounts: with no incoming account, no authentication is required.
#[derive(Default)]
pub(crate) struct Auth {
    /// Accounts initiators may log in with.
    pub(crate) incoming: KVec<User>,
    /// The account the target answers mutual CHAP with.
    pub(crate) outgoing: Option<User>,
}

impl Auth {
    fn show(&self, m: &SeqFile, indent: &str) {
        // Secrets are never shown.
        for u in self.incoming.iter() {
            seq_print!(
                m,
                "{}IncomingUser {} ********\n",
                indent,
                u.name.to_str().unwrap_or("?")
            );
        }
        if let Some(u) = &self.outgoing {
            seq_print!(
                m,
                "{}OutgoingUser {} ********\n",
                indent,
                u.name.to_str().unwrap_or("?")
            );
        }
    }

    fn add(&mut self, dir: Direction, name: &str, secret: &[u8]) -> Result {
        let mut s = KVec::new();
        s.extend_from_slice(secret, GFP_KERNEL)?;
        let user = User {
            name: CString::try_from_fmt(fmt!("{name}"))?,
            secret: s,
        };
        match dir {
            Direction::Incoming => {
                if let Some(u) = self
                    .incoming
                    .iter_mut()
                    .find(|u| u.name.to_bytes() == name.as_bytes())
                {
                    *u = user;
                } else {
                    self.incoming.push(user, GFP_KERNEL)?;
                }
            }
            // One outgoing account (SCST's rule): a new one replaces it.
            Direction::Outgoing => self.outgoing = Some(user),
        }
        Ok(())
    }

    fn del(&mut self, dir: Direction, name: &str) -> Result {
        let matches = |u: &User| u.name.to_bytes() == name.as_bytes();
        match dir {
            Direction::Incoming => {
                let i = self.incoming.iter().position(matches).ok_or(ENOENT)?;
                self.incoming.remove(i).map_err(|_| ENOENT)?;
            }
            Direction::Outgoing => {
                if !self.outgoing.as_ref().is_some_and(matches) {
                    return Err(ENOENT);
                }
                self.outgoing = None;
            }
        }
        Ok(())
    }

    /// The secret of incoming account `name`.
    pub(crate) fn incoming_secret(&self, name: &[u8]) -> Option<&[u8]> {
        self.incoming
            .iter()
            .find(|u| u.name.to_bytes() == name)
            .map(|u| &u.secret[..])
    }
}

/// A configured target.
pub(crate) struct Target {
    pub(crate) name: CString,
    pub(crate) params: Params,
    pub(crate) auth: Auth,
    /// Initiator name patterns that may see and log in to the target;
    /// empty: every initiator may.
    pub(crate) allowed: KVec<KVec<u8>>,
}

impl Target {
    /// Whether `initiator` may see (discovery) and log in to the target.
    pub(crate) fn allows(&self, initiator: &[u8]) -> bool {
        self.allowed.is_empty()
            || self
                .allowed
                .iter()
                .any(|p| acl::entry_matches(p, initiator))
    }
}

/// The whole configuration.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) targets: KVec<Target>,
    pub(crate) discovery_params: Params,
    pub(crate) discovery_auth: Auth,
}

impl Config {
    /// The target named `name`.
    pub(crate) fn target(&self, name: &[u8]) -> Option<&Target> {
        self.targets.iter().find(|t| t.name.to_bytes() == name)
    }

    pub(crate) fn add_target(&mut self, name: &str) -> Result {
        if self.target(name.as_bytes()).is_some() {
            pr_warn!("iscsi: target {} exists\n", name);
            return Err(EEXIST);
        }
        self.targets.push(
            Target {
                name: CString::try_from_fmt(fmt!("{name}"))?,
                params: Params::default(),
                auth: Auth::default(),
                allowed: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        pr_info!("iscsi: target {} added\n", name);
        Ok(())
    }

    pub(crate) fn del_target(&mut self, name: &str) -> Result {
        let i = self
            .targets
            .iter()
            .position(|t| t.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| {
                pr_warn!("iscsi: no target {}\n", name);
                ENOENT
            })?;
        self.targets.remove(i).map_err(|_| ENOENT)?;
        pr_info!("iscsi: target {} deleted\n", name);
        Ok(())
    }

    fn scope_mut(&mut self, scope: cfg::Scope<'_>) -> Result<(&mut Params, &mut Auth)> {
        match scope {
            cfg::Scope::Discovery => Ok((&mut self.discovery_params, &mut self.discovery_auth)),
            cfg::Scope::Target(n) => {
                let t = self
                    .targets
                    .iter_mut()
                    .find(|t| t.name.to_bytes() == n.as_bytes())
                    .ok_or_else(|| {
                        pr_warn!("iscsi: no target {}\n", n);
                        ENOENT
                    })?;
                Ok((&mut t.params, &mut t.auth))
            }
        }
    }

    fn target_mut(&mut self, name: &str) -> Result<&mut Target> {
        self.targets
            .iter_mut()
            .find(|t| t.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| {
                pr_warn!("iscsi: no target {}\n", name);
                ENOENT
            })
    }

    /// `allow TARGET PATTERN`.
    pub(crate) fn allow(&mut self, target: &str, pattern: &str) -> Result {
        let t = self.target_mut(target)?;
        if t.allowed.iter().any(|p| &p[..] == pattern.as_bytes()) {
            return Err(EEXIST);
        }
        let mut p = KVec::new();
        p.extend_from_slice(pattern.as_bytes(), GFP_KERNEL)?;
        t.allowed.push(p, GFP_KERNEL)?;
        Ok(())
    }

    /// `disallow TARGET PATTERN`.
    pub(crate) fn disallow(&mut self, target: &str, pattern: &str) -> Result {
        let t = self.target_mut(target)?;
        let i = t
            .allowed
            .iter()
            .position(|p| &p[..] == pattern.as_bytes())
            .ok_or_else(|| {
                pr_warn!("iscsi: target {} has no pattern {}\n", target, pattern);
                ENOENT
            })?;
        t.allowed.remove(i).map_err(|_| ENOENT)?;
        Ok(())
    }

    pub(crate) fn set(&mut self, scope: cfg::Scope<'_>, key: Key) -> Result {
        self.scope_mut(scope)?.0.set(key)
    }

    pub(crate) fn add_user(
        &mut self,
        scope: cfg::Scope<'_>,
        dir: Direction,
        name: &str,
        secret: &[u8],
    ) -> Result {
        self.scope_mut(scope)?.1.add(dir, name, secret)
    }

    pub(crate) fn del_user(&mut self, scope: cfg::Scope<'_>, dir: Direction, name: &str) -> Result {
        self.scope_mut(scope)?.1.del(dir, name).inspect_err(|_| {
            pr_warn!("iscsi: no such user {}\n", name);
        })
    }

    /// Prints the configuration (`/proc/scsi_tgt/iscsi/iscsi`).
    pub(crate) fn show(&self, m: &SeqFile) {
        seq_print!(m, "discovery\n");
        self.discovery_auth.show(m, "\t");
        for t in self.targets.iter() {
            seq_print!(m, "Target {}\n", t.name.to_str().unwrap_or("?"));
            t.params.show(m, "\t");
            t.auth.show(m, "\t");
            for p in t.allowed.iter() {
                seq_print!(m, "\tAllow {}\n", core::str::from_utf8(p).unwrap_or("?"));
            }
        }
    }
}
