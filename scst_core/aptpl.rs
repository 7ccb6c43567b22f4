// SPDX-License-Identifier: GPL-2.0

//! Persistent reservations that survive power loss (APTPL): one file per
//! device in the directory of `/proc/scsi_tgt/pr_dir`.
//!
//! The file layout (two slots, the newest valid one wins) is
//! [`crate::proto::aptpl`]; this module opens (creating it empty if needed)
//! and reads it when a device is registered, and writes it, synchronously
//! and synced to stable storage, whenever a PERSISTENT RESERVE OUT changes
//! a state that has (or had) APTPL set. The file stays open for the
//! device's lifetime: saves run in command threads, whose file system root
//! is not the administrator's, so paths are resolved only at registration,
//! in the context of the process that registers the device. If the write
//! fails, the reservation module puts the previous state back and the
//! command fails, so what initiators see is what would come back after a
//! power loss.

use crate::{
    proto::{
        aptpl,
        pr::PrState, //
    },
    reservation::MAX_REGISTRATIONS,
};
use kernel::{
    alloc::KVVec,
    prelude::*,
    str::CString, //
};
use scst_sys::kfile::{
    KFile,
    OpenOptions, //
};

/// Where APTPL files go unless `/proc/scsi_tgt/pr_dir` says otherwise (the
/// directory SCST uses).
pub(crate) const DEFAULT_DIR: &str = "/var/lib/scst/pr";

/// Bytes of one slot of the file.
const SLOT: usize = aptpl::slot_len(MAX_REGISTRATIONS);

/// Room for a device name with every byte escaped (`%XX`).
const MAX_FILE_NAME: usize = 3 * crate::proto::mgmt::MAX_NAME_LEN;

/// The APTPL file of one device.
pub(crate) struct PrFile {
    file: KFile,
    path: CString,
    /// The newest slot on disk: its index and sequence number.
    last: Option<(usize, u64)>,
}

impl PrFile {
    /// Opens (or creates) the file of device `name` in `dir` and loads its
    /// newest valid state into `pr` (a state saved with APTPL off loads as
    /// nothing; a new, empty file as nothing too).
    pub(crate) fn open(
        dir: &CStr,
        name: &str,
        pr: &mut PrState<MAX_REGISTRATIONS>,
    ) -> Result<Self> {
        let mut file_name = [0u8; MAX_FILE_NAME];
        let n = aptpl::file_name(name.as_bytes(), &mut file_name).ok_or(EINVAL)?;
        let file_name = core::str::from_utf8(file_name.get(..n).ok_or(EINVAL)?)?;
        let path = CString::try_from_fmt(fmt!("{}/{}", dir.to_str()?, file_name))?;
        let file = KFile::open(
            &path,
            OpenOptions {
                create: true,
                ..Default::default()
            },
        )?;
        let mut this = Self {
            file,
            path,
            last: None,
        };
        let mut data = KVVec::from_elem(0u8, 2 * SLOT, GFP_KERNEL)?;
        let got = this.file.read_at(&mut data, 0)?;
        if got == 0 {
            return Ok(this);
        }
        let Some((slot, seq, image)) = aptpl::newest(data.get(..got).unwrap_or(&[]), SLOT) else {
            pr_warn!(
                "{}: no valid persistent reservation state; starting without one\n",
                this.path.to_str().unwrap_or("?")
            );
            return Ok(this);
        };
        // The next save must not overwrite the newest slot, even if the
        // image in it turns out to be unusable.
        this.last = Some((slot, seq));
        match pr.load(image) {
            Ok(()) => {
                if pr.aptpl() {
                    pr_info!(
                        "{}: restored {} persistent reservation registrations, reservation {:?}\n",
                        this.path.to_str().unwrap_or("?"),
                        pr.registration_count(),
                        pr.reservation()
                    );
                }
            }
            Err(e) => pr_warn!(
                "{}: persistent reservation state not restored ({:?})\n",
                this.path.to_str().unwrap_or("?"),
                e
            ),
        }
        Ok(this)
    }

    /// Writes `pr` to the slot that does not hold the newest state and
    /// syncs the file.
    pub(crate) fn save(&mut self, pr: &PrState<MAX_REGISTRATIONS>) -> Result {
        let (slot, seq) = aptpl::next_slot(self.last);
        let mut buf = KVVec::from_elem(0u8, aptpl::SLOT_HEADER_LEN + pr.saved_len(), GFP_KERNEL)?;
        let image_len = pr
            .save(&mut buf[aptpl::SLOT_HEADER_LEN..])
            .map_err(|_| EINVAL)?;
        let n = aptpl::seal_slot(seq, image_len, &mut buf).map_err(|_| EINVAL)?;
        let pos = u64::try_from(slot * SLOT).map_err(|_| EINVAL)?;
        self.file.write_at(&buf[..n], pos)?;
        self.file.sync_range(0, 0, false)?;
        self.last = Some((slot, seq));
        Ok(())
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &CStr {
        &self.path
    }
}
