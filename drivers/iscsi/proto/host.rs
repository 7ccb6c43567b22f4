// SPDX-License-Identifier: GPL-2.0

//! Host build of the scst-rs iSCSI protocol library.
//!
//! The kernel module compiles the same files as `iscsi_scst::proto` (see
//! `drivers/iscsi/iscsi_scst.rs`); this root only makes them a `no_std` crate
//! for `cargo test`, property tests and fuzzing on the host.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "lib.rs"]
mod proto;

pub use proto::*;
