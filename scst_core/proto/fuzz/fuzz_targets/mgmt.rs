// SPDX-License-Identifier: GPL-2.0

//! Fuzzes every `/proc/scsi_tgt` command parser of `scst_proto::mgmt`.
//!
//! Checks that no input panics, that error offsets lie within the input, and
//! that every name or path a parser returns is a slice of the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::mgmt::{self, DeviceRef, Error, ErrorKind, Field};

/// Asserts that `part` lies inside `whole` (the parsers never copy).
fn within(whole: &[u8], part: &[u8]) {
    let start = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    assert!(p >= start && p + part.len() <= start + whole.len());
}

fn check_err(input: &[u8], e: &Error) {
    match e.kind {
        ErrorKind::TooLong(Field::Line) => {
            assert!(input.len() > mgmt::MAX_WRITE_LEN);
            assert_eq!(e.offset, mgmt::MAX_WRITE_LEN);
            assert_eq!(e.errno(), mgmt::EOVERFLOW);
        }
        _ => {
            assert!(e.offset <= input.len());
            assert_eq!(e.errno(), mgmt::EINVAL);
        }
    }
    let _ = e.kind.description();
    let _ = e.kind.field().name();
}

fn check_dev(input: &[u8], d: &DeviceRef<'_>) {
    if let DeviceRef::Virtual(n) = d {
        within(input, n.as_bytes());
        assert!(!n.is_empty() && n.len() <= mgmt::MAX_NAME_LEN);
    }
}

fuzz_target!(|data: &[u8]| {
    match mgmt::parse_scsi_tgt(data) {
        Ok(mgmt::ScsiTgtCmd::Assign { handler, .. }) => within(data, handler.as_bytes()),
        Ok(mgmt::ScsiTgtCmd::AddGroup { name, .. } | mgmt::ScsiTgtCmd::DelGroup { name }) => {
            within(data, name.as_bytes());
            assert_ne!(name, mgmt::DEFAULT_GROUP);
        }
        Ok(mgmt::ScsiTgtCmd::RenameGroup { old, new }) => {
            within(data, old.as_bytes());
            within(data, new.as_bytes());
        }
        Err(e) => check_err(data, &e),
    }
    match mgmt::parse_group_devices(data) {
        Ok(mgmt::GroupDevicesCmd::Add { dev, lun, .. })
        | Ok(mgmt::GroupDevicesCmd::Replace { dev, lun, .. }) => {
            check_dev(data, &dev);
            assert!(lun <= mgmt::MAX_LUN);
        }
        Ok(mgmt::GroupDevicesCmd::Del { dev, ignored_lun }) => {
            check_dev(data, &dev);
            assert!(ignored_lun.is_none_or(|l| l <= mgmt::MAX_LUN));
        }
        Ok(mgmt::GroupDevicesCmd::Clear) => {}
        Err(e) => check_err(data, &e),
    }
    match mgmt::parse_group_names(data) {
        Ok(mgmt::GroupNamesCmd::Add(n) | mgmt::GroupNamesCmd::Del(n)) => within(data, n.as_bytes()),
        Ok(mgmt::GroupNamesCmd::Move { name, group }) => {
            within(data, name.as_bytes());
            within(data, group.as_bytes());
        }
        Ok(mgmt::GroupNamesCmd::Clear) => {}
        Err(e) => check_err(data, &e),
    }
    match mgmt::parse_threads(data) {
        Ok(n) => assert!((1..=mgmt::MAX_THREADS).contains(&n)),
        Err(e) => check_err(data, &e),
    }
    for r in [
        mgmt::parse_core_trace_level(data),
        mgmt::parse_trace_level(data, mgmt::VDISK_TRACE_TOKENS),
    ] {
        match r {
            Ok(c) => {
                let _ = c.apply(0x1234, 0x0100);
            }
            Err(e) => check_err(data, &e),
        }
    }
    match mgmt::parse_vdisk(data) {
        Ok(mgmt::VdiskCmd::Open(o)) => {
            within(data, o.name.as_bytes());
            within(data, o.path);
            assert!(o.name.len() <= mgmt::MAX_VDISK_NAME_LEN);
            assert!(o.block_size >= mgmt::MIN_BLOCK_SIZE && o.block_size.is_power_of_two());
            assert!(o.flags.nullio || o.path.first() == Some(&b'/'));
        }
        Ok(_) => {}
        Err(e) => check_err(data, &e),
    }
    match mgmt::parse_vcdrom(data) {
        Ok(mgmt::VcdromCmd::Open { path: Some(p), .. })
        | Ok(mgmt::VcdromCmd::Change { path: Some(p), .. }) => {
            within(data, p);
            assert_eq!(p.first(), Some(&b'/'));
        }
        Ok(_) => {}
        Err(e) => check_err(data, &e),
    }
});
