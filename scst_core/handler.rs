// SPDX-License-Identifier: GPL-2.0

//! Device handlers: the modules that execute commands for a device type.
//!
//! A handler module implements [`DevHandler`] and keeps a [`Registration`]
//! alive while it is loaded. The core gives every handler a directory
//! `/proc/scsi_tgt/<name>/` with its `type` file.

use crate::{
    proc,
    proto::types::PeripheralType,
    Core, //
};
use kernel::{
    prelude::*,
    str::CString,
    sync::Arc, //
};
use scst_sys::procfs;

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
}

/// Object-safe view of a handler, for the core's tables.
pub(crate) trait Dyn: Send + Sync {
    fn name(&self) -> &'static CStr;
    fn dev_type(&self) -> PeripheralType;
    fn describe(&self) -> Option<&'static str>;
}

impl<T: DevHandler> Dyn for T {
    fn name(&self) -> &'static CStr {
        T::NAME
    }
    fn dev_type(&self) -> PeripheralType {
        T::TYPE
    }
    fn describe(&self) -> Option<&'static str> {
        DevHandler::describe(self)
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
}

impl<T: DevHandler> Registration<T> {
    /// Registers `handler`. Fails with `EEXIST` if a handler of that name exists.
    pub fn new(handler: Arc<T>) -> Result<Self> {
        let core = Core::get()?;
        let name = CString::try_from_fmt(fmt!("{}", T::NAME.to_str()?))?;
        let dyn_handler: Arc<dyn Dyn> = handler.clone();
        {
            let mut handlers = core.handlers.lock();
            if handlers
                .iter()
                .any(|e| e.name.as_bytes() == name.as_bytes())
            {
                return Err(EEXIST);
            }
            let dir = core.proc.handler_dir(&name, dyn_handler.clone())?;
            handlers.push(
                Entry {
                    name,
                    handler: dyn_handler,
                    _dir: dir,
                },
                GFP_KERNEL,
            )?;
        }
        pr_info!(
            "registered device handler {} (type {})\n",
            T::NAME.to_str()?,
            T::TYPE as u8
        );
        Ok(Self { core, handler })
    }

    /// The registered handler.
    pub fn handler(&self) -> &Arc<T> {
        &self.handler
    }
}

impl<T: DevHandler> Drop for Registration<T> {
    fn drop(&mut self) {
        let mut handlers = self.core.handlers.lock();
        let name = T::NAME.as_bytes();
        handlers.retain(|e| e.name.as_bytes() != name);
        drop(handlers);
        pr_info!(
            "unregistered device handler {}\n",
            T::NAME.to_str().unwrap_or("?")
        );
    }
}

/// Lists the registered handlers' names and types (for `/proc/scsi_tgt`).
pub(crate) fn for_each(core: &Core, mut f: impl FnMut(&CStr, PeripheralType)) {
    for e in core.handlers.lock().iter() {
        f(&e.name, e.handler.dev_type());
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
