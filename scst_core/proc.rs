// SPDX-License-Identifier: GPL-2.0

//! The `/proc/scsi_tgt` tree (the classic SCST interface).
//!
//! See `Documentation/proc-interface.md` for the grammar.

use crate::{
    handler,
    VERSION, //
};
use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Arc, //
};
use scst_sys::procfs::{
    self,
    Dir,
    File, //
};

/// `/proc/scsi_tgt/help`: the online help, SCST's grammar.
const HELP: &str = "\
Usage:
       echo \"assign H:C:I:L HANDLER_NAME\" >/proc/scsi_tgt/scsi_tgt

       echo \"add_group GROUP\" >/proc/scsi_tgt/scsi_tgt
       echo \"del_group GROUP\" >/proc/scsi_tgt/scsi_tgt

       echo \"add|del H:C:I:L lun [READ_ONLY]\" >/proc/scsi_tgt/groups/GROUP/devices
       echo \"add|del V_NAME lun [READ_ONLY]\" >/proc/scsi_tgt/groups/GROUP/devices
       echo \"clear\" >/proc/scsi_tgt/groups/GROUP/devices

       echo \"add|del NAME\" >/proc/scsi_tgt/groups/GROUP/names
       echo \"clear\" >/proc/scsi_tgt/groups/GROUP/names

       echo \"DEC|0xHEX|0OCT\" >/proc/scsi_tgt/threads

       echo \"all|none|default\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
       echo \"value DEC|0xHEX|0OCT\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
       echo \"set|add|del TOKEN\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
         where TOKEN is one of [debug,function,line,pid,entryexit,
                                buff,mem,sg,out_of_mem,special,scsi,mgmt,minor]
";

/// Options compiled into this build, printed after the version like SCST does.
const BUILD_OPTIONS: &[(&str, bool)] = &[
    ("EXTRACHECKS", cfg!(CONFIG_RUST_OVERFLOW_CHECKS)),
    ("DEBUG", cfg!(CONFIG_RUST_DEBUG_ASSERTIONS)),
];

struct Version;

impl procfs::Handler for Version {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}\n", VERSION);
        for (name, on) in BUILD_OPTIONS {
            if *on {
                seq_print!(m, "{}\n", name);
            }
        }
        Ok(())
    }
}

struct Help;

impl procfs::Handler for Help {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}", HELP);
        Ok(())
    }
}

/// The `/proc/scsi_tgt` directory and the files the core owns.
pub(crate) struct Root {
    // Files first: they are dropped before the directory that holds them.
    _version: File<Version>,
    _help: File<Help>,
    dir: Dir,
}

impl Root {
    /// Creates `/proc/scsi_tgt` with its core files.
    pub(crate) fn new() -> Result<Self> {
        let dir = Dir::new_root(c"scsi_tgt").inspect_err(|_| {
            pr_err!("cannot create /proc/scsi_tgt (does it exist already?)\n");
        })?;
        Ok(Self {
            _version: dir.file(c"version", 0o444, Arc::new(Version, GFP_KERNEL)?)?,
            _help: dir.file(c"help", 0o444, Arc::new(Help, GFP_KERNEL)?)?,
            dir,
        })
    }

    /// Creates `/proc/scsi_tgt/<name>/` with a `type` file for a handler.
    pub(crate) fn handler_dir(&self, name: &CStr, h: Arc<dyn handler::Dyn>) -> Result<HandlerDir> {
        let dir = self.dir.subdir(name)?;
        let type_file = dir.file(c"type", 0o444, Arc::new(handler::TypeFile(h), GFP_KERNEL)?)?;
        Ok(HandlerDir {
            _type: type_file,
            _dir: dir,
        })
    }
}

/// A handler's directory in `/proc/scsi_tgt`.
pub(crate) struct HandlerDir {
    _type: File<handler::TypeFile>,
    _dir: Dir,
}
