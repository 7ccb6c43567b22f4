// SPDX-License-Identifier: GPL-2.0

//! Raw bindings generated at build time from `rust/bindings.h`.
//!
//! Types the kernel crate already generated are re-exported from
//! [`kernel::bindings`], so the two sets of bindings share them.

#![allow(
    clippy::all,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    dead_code,
    clippy::undocumented_unsafe_blocks,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr
)]

pub use kernel::bindings::*;
use kernel::ffi;
use pin_init::{
    MaybeZeroable,
    Zeroable, //
};

// bindgen does not derive this for its bitfield storage (as in the kernel
// crate's own bindings, rust-bindgen issue 3196).
//
// SAFETY: `__BindgenBitfieldUnit<Storage>` is a newtype around `Storage`, so
// it is zeroable when `Storage` is.
unsafe impl<Storage> Zeroable for __BindgenBitfieldUnit<Storage> where Storage: Zeroable {}

include!("bindings_generated.rs");
