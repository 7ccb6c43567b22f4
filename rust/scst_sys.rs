// SPDX-License-Identifier: GPL-2.0

//! Kernel abstractions for scst-rs that the `kernel` crate does not provide.
//!
//! This crate is the only place in scst-rs with `unsafe` code and FFI. It is
//! written to the standard of the kernel's own `rust/kernel`: every `unsafe`
//! block carries a safety comment, every `unsafe fn` a `# Safety` section,
//! and the abstractions are sound on their own, so that the core, handlers
//! and target drivers (which `#![forbid(unsafe_code)]`) stay safe Rust.
//!
//! It is linked into `scst_core.ko` and its symbols are exported to the other
//! scst-rs modules (see `Documentation/architecture.md`).

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod bdev;
pub mod bindings;
pub mod crc;
pub mod global;
pub mod kfile;
pub mod kthread;
pub mod mm;
pub mod net;
pub mod procfs;
pub mod scsi_dev;
pub mod scsi_host;
pub mod shrinker;
