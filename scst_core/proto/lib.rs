// SPDX-License-Identifier: GPL-2.0

//! Pure SCSI protocol logic of scst-rs.
//!
//! Everything here is `no_std`, uses only `core`, allocates nothing and imports
//! nothing from the `kernel` crate: it is compiled into `scst_core.ko` as
//! `scst_core::proto` and tested on the host as the `scst_proto` crate.
//!
//! All input is treated as untrusted. Wire-derived lengths and addresses use
//! checked arithmetic; malformed input yields a [`sense::Sense`] for the
//! initiator, never a panic (kernel Rust has overflow checks on: an overflow
//! there is a `BUG()`).

pub mod acl;
pub mod aptpl;
pub mod bytes;
pub mod cdb;
pub mod extent;
#[cfg(test)]
mod layouts;
pub mod lun;
pub mod mgmt;
pub mod mode;
pub mod order;
pub mod pr;
pub mod reserve;
pub mod sbc;
pub mod sense;
pub mod spc;
pub mod tm;
pub mod types;
pub mod ua;
pub mod xcopy;
