// SPDX-License-Identifier: GPL-2.0

//! Device handlers: the modules that execute commands for a device type.
//!
//! A handler module implements [`DevHandler`] and keeps a [`Registration`]
//! alive while it is loaded. The core gives every handler a directory
//! `/proc/scsi_tgt/<name>/` with its `type` file.

use crate::{
    proc,
    proto::{
        mgmt::Hctl,
        types::PeripheralType, //
    },
    Core, //
};
use kernel::{
    prelude::*,
    str::CString,
    sync::Arc, //
};
use scst_sys::procfs::{
    self,
    Dir, //
};

/// A device handler, SCST's `struct scst_dev_type`.
///
/// The command callbacks (parse, exec, dev_done, ...) are added with the
/// command engine; for now a handler declares its identity.
pub trait DevHandler: Send + Sync + 'static {
    /// The handler's name, also its `/proc/scsi_tgt` directory.
    const NAME: &'static CStr;
    /// The SCSI peripheral device type it handles.
    const TYPE: PeripheralType;

    /// A line the core prints in the handler's `type` file after the type.
    fn describe(&self) -> Option<&'static str> {
        None
    }

    /// Whether the handler drives real SCSI devices of the midlayer
    /// (SCST's pass-through handlers, such as `dev_disk`): only those
    /// take `assign H:C:I:L HANDLER`.
    const PASS_THROUGH: bool = false;

    /// Attaches the midlayer's SCSI device `hctl` (`assign`): registers it
    /// as a device named `H:C:I:L`. Called for pass-through handlers only,
    /// in process context; the handler logs why it refuses.
    fn assign(&self, hctl: Hctl) -> Result {
        let _ = hctl;
        Err(EINVAL)
    }
}

/// Object-safe view of a handler, for the core's tables.
pub(crate) trait Dyn: Send + Sync {
    fn dev_type(&self) -> PeripheralType;
    fn describe(&self) -> Option<&'static str>;
    fn pass_through(&self) -> bool;
    fn assign(&self, hctl: Hctl) -> Result;
}

impl<T: DevHandler> Dyn for T {
    fn dev_type(&self) -> PeripheralType {
        T::TYPE
    }
    fn describe(&self) -> Option<&'static str> {
        DevHandler::describe(self)
    }
    fn pass_through(&self) -> bool {
        T::PASS_THROUGH
    }
    fn assign(&self, hctl: Hctl) -> Result {
        DevHandler::assign(self, hctl)
    }
}

/// A registered handler in the core's table.
pub(crate) struct Entry {
    pub(crate) name: CString,
    pub(crate) handler: Arc<dyn Dyn>,
    _dir: proc::HandlerDir,
}

/// Keeps a device handler registered with the core; unregisters on drop.
pub struct Registration<T: DevHandler> {
    core: Arc<Core>,
    handler: Arc<T>,
    dir: Dir,
}

impl<T: DevHandler> Registration<T> {
    /// Registers `handler`. Fails with `EEXIST` if a handler of that name exists.
    pub fn new(handler: Arc<T>) -> Result<Self> {
        let core = Core::get()?;
        let name = CString::try_from_fmt(fmt!("{}", T::NAME.to_str()?))?;
        let dyn_handler: Arc<dyn Dyn> = handler.clone();
        let dir;
        {
            let mut handlers = core.handlers.lock();
            if handlers
                .iter()
                .any(|e| e.name.to_bytes() == name.to_bytes())
            {
                return Err(EEXIST);
            }
            let hdir = core.dirs.handler_dir(&name, dyn_handler.clone())?;
            dir = hdir.dir.clone();
            handlers.push(
                Entry {
                    name,
                    handler: dyn_handler,
                    _dir: hdir,
                },
                GFP_KERNEL,
            )?;
        }
        pr_info!(
            "registered device handler {} (type {})\n",
            T::NAME.to_str()?,
            T::TYPE as u8
        );
        Ok(Self { core, handler, dir })
    }

    /// The registered handler.
    pub fn handler(&self) -> &Arc<T> {
        &self.handler
    }

    /// The handler's directory, `/proc/scsi_tgt/<name>/`, for its own files.
    pub fn proc_dir(&self) -> &Dir {
        &self.dir
    }
}

impl<T: DevHandler> Drop for Registration<T> {
    fn drop(&mut self) {
        let mut handlers = self.core.handlers.lock();
        let name = T::NAME.to_bytes();
        let entry = handlers
            .iter()
            .position(|e| e.name.to_bytes() == name)
            .and_then(|i| handlers.remove(i).ok());
        drop(handlers);
        // Procfs entries go after the lock is released (their removal waits
        // for running callbacks).
        drop(entry);
        pr_info!(
            "unregistered device handler {}\n",
            T::NAME.to_str().unwrap_or("?")
        );
    }
}

/// Implements the `type` file of a handler directory.
pub(crate) struct TypeFile(pub(crate) Arc<dyn Dyn>);

impl procfs::Handler for TypeFile {
    fn show(&self, m: &kernel::seq_file::SeqFile) -> Result {
        let t = self.0.dev_type();
        kernel::seq_print!(m, "{} - {}\n", t as u8, t.description());
        if let Some(d) = self.0.describe() {
            kernel::seq_print!(m, "{}\n", d);
        }
        Ok(())
    }
}
