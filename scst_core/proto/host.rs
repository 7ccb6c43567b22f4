// SPDX-License-Identifier: GPL-2.0

//! Host build of the scst-rs SCSI protocol library.
//!
//! The kernel module compiles the same files as `scst_core::proto` (see
//! `scst_core/scst_core.rs`); this root only makes them a `no_std` crate for
//! `cargo test`, property tests and fuzzing on the host.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "lib.rs"]
mod proto;

pub use proto::*;
