// SPDX-License-Identifier: GPL-2.0

//! Pure iSCSI protocol logic of scst-rs (RFC 7143).
//!
//! Everything here is `no_std`, uses only `core`, allocates nothing and imports
//! nothing from the `kernel` crate: it is compiled into `iscsi_scst.ko` as
//! `iscsi_scst::proto` and tested on the host as the `iscsi_proto` crate.
//!
//! Every byte that comes from the network is untrusted: lengths and sequence
//! numbers use checked arithmetic, and malformed input yields an iSCSI error
//! (a Reject, a login status or a dropped connection), never a panic.
pub mod cfg;
pub mod chap;
pub mod digest;
pub mod discovery;
pub mod login;
pub mod md5;
pub mod params;
pub mod pdu;
pub mod serial;
pub mod text;
pub mod window;
pub mod xfer;
