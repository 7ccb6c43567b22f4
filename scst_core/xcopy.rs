// SPDX-License-Identifier: GPL-2.0

//! The copy manager: EXTENDED COPY (LID1) and RECEIVE COPY RESULTS
//! between the devices one session sees, over [`crate::proto::xcopy`].
//!
//! An identification CSCD descriptor names a device by a designator of its
//! Device Identification VPD page ([`DeviceOps::names`]); only devices
//! mapped in the requesting session's LUN table can be named, so a copy
//! never reaches a device the initiator could not address itself. Each
//! segment is copied in chunks of [`CHUNK`] bytes with READ(16) and
//! WRITE(16) executed by the devices themselves, so their write protection,
//! range locks (COMPARE AND WRITE atomicity) and FUA rules apply; an
//! overlapping copy within one device runs backwards when the destination
//! lies above the source. The copy runs in the command thread that
//! executes EXTENDED COPY.

use crate::{
    device::{
        AbortFlag,
        DeviceOps,
        ExecCmd, //
    },
    proto::{
        cdb,
        sense::{
            asc,
            Sense, //
        },
        xcopy::{
            self,
            CopyRange,
            CopyStatus,
            Target, //
        },
    },
    session::{
        SessionCore,
        TgtDev, //
    },
};
use kernel::{
    alloc::KVVec,
    prelude::*,
    sync::Arc, //
};

/// Bytes moved per READ/WRITE pair.
const CHUNK: u64 = 1 << 20;

/// Results kept per session for RECEIVE COPY RESULTS COPY STATUS.
pub(crate) const HELD_RESULTS: usize = 4;

/// The copy results a session holds, by LIST IDENTIFIER (newest last).
pub(crate) type Held = [Option<(u8, CopyStatus)>; HELD_RESULTS];

/// A device error during a copy: COPY ABORTED with the device's reason.
fn aborted_by(s: Sense) -> Sense {
    xcopy::copy_aborted(s.asc)
}

/// Executes one READ(16) or WRITE(16) of `blocks` blocks at `lba` on `ops`.
fn rw16(
    ops: &dyn DeviceOps,
    t: &TgtDev,
    nexus: u64,
    write: bool,
    lba: u64,
    blocks: u32,
    buf: &mut [u8],
) -> core::result::Result<(), Sense> {
    let mut c = [0u8; 16];
    c[0] = if write { 0x8a } else { 0x88 };
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&blocks.to_be_bytes());
    let decoded = cdb::decode(&c, t.dev.dev_type(), ops.block_size())?;
    let (data_out, data_in): (&[u8], &mut [u8]) = if write { (buf, &mut []) } else { (&[], buf) };
    let mut ec = ExecCmd {
        cdb: &c,
        decoded: &decoded,
        data_out,
        data_in,
        read_only: t.read_only,
        nexus,
        // Each chunk is short; the copy looks for aborts between chunks.
        abort: AbortFlag::NONE,
        ua_for_others: None,
        status: crate::proto::types::Status::Good,
    };
    ops.exec(&mut ec)?;
    // A pass-through device that answered BUSY or the like did not copy.
    if ec.status != crate::proto::types::Status::Good {
        return Err(xcopy::copy_aborted(asc::COPY_TARGET_NOT_REACHABLE));
    }
    Ok(())
}

/// Copies one range between two devices in chunks.
fn copy_range(
    sc: &SessionCore,
    src: &TgtDev,
    dst: &TgtDev,
    r: &CopyRange,
    buf: &mut KVVec<u8>,
    abort: AbortFlag<'_>,
) -> core::result::Result<(), Sense> {
    let unreachable = || xcopy::copy_aborted(asc::COPY_TARGET_NOT_REACHABLE);
    let sops = src.dev.ops().ok_or_else(unreachable)?;
    let dops = dst.dev.ops().ok_or_else(unreachable)?;
    if dst.read_only || dops.write_protected() {
        return Err(Sense::write_protected());
    }
    let bs = u64::from(sops.block_size().max(1));
    // Backwards when the destination overlaps the source from above.
    let backwards = Arc::ptr_eq(&src.dev, &dst.dev)
        && r.dst_pos > r.src_pos
        && r.dst_pos < r.src_pos.saturating_add(r.len);
    let chunks = r.len.div_ceil(CHUNK);
    for i in 0..chunks {
        if abort.is_aborted() {
            pr_info!(
                "aborted EXTENDED COPY stopped after {} of {} chunks\n",
                i,
                chunks
            );
            return Err(xcopy::copy_aborted(asc::NO_ADDITIONAL));
        }
        let k = if backwards { chunks - 1 - i } else { i };
        let off = k * CHUNK;
        let n = (r.len - off).min(CHUNK);
        let blocks = u32::try_from(n / bs).map_err(|_| unreachable())?;
        let data = buf
            .get_mut(..usize::try_from(n).map_err(|_| Sense::insufficient_resources())?)
            .ok_or_else(Sense::insufficient_resources)?;
        rw16(
            &*sops,
            src,
            sc.id,
            false,
            (r.src_pos + off) / bs,
            blocks,
            data,
        )
        .map_err(aborted_by)?;
        rw16(
            &*dops,
            dst,
            sc.id,
            true,
            (r.dst_pos + off) / bs,
            blocks,
            data,
        )
        .map_err(|s| {
            if s == Sense::write_protected() {
                s
            } else {
                aborted_by(s)
            }
        })?;
    }
    Ok(())
}

/// EXTENDED COPY (LID1) with parameter list `params`, for session `sc`.
pub(crate) fn extended_copy(
    sc: &SessionCore,
    params: &[u8],
    abort: AbortFlag<'_>,
) -> core::result::Result<(), Sense> {
    let list = xcopy::parse_list(params)?;
    if list.segments().next().is_none() {
        return Ok(());
    }
    // The devices this session can address, each kept registered while the
    // copy runs.
    let mut luns: KVec<(Arc<TgtDev>, crate::device::InflightGuard)> = KVec::new();
    for t in sc.state.lock().luns.iter() {
        let g = t.dev.enter();
        luns.push((t.clone(), g), GFP_KERNEL)
            .map_err(|_| Sense::insufficient_resources())?;
    }
    let plan = xcopy::plan(&list, |d| {
        luns.iter().enumerate().find_map(|(i, (t, _))| {
            let ops = t.dev.ops()?;
            ops.names(d).then(|| Target {
                handle: i,
                block_size: ops.block_size(),
                num_blocks: ops.num_blocks(),
            })
        })
    })?;
    let mut buf = KVVec::from_elem(0u8, CHUNK as usize, GFP_KERNEL)
        .map_err(|_| Sense::insufficient_resources())?;
    let mut status = CopyStatus {
        ok: true,
        segments: 0,
        bytes: 0,
    };
    let mut result = Ok(());
    for r in plan.iter().flatten() {
        let (Some((src, _)), Some((dst, _))) = (luns.get(r.src), luns.get(r.dst)) else {
            result = Err(xcopy::copy_aborted(asc::COPY_TARGET_NOT_REACHABLE));
            break;
        };
        if let Err(e) = copy_range(sc, src, dst, r, &mut buf, abort) {
            result = Err(e);
            break;
        }
        status.segments += 1;
        status.bytes += r.len;
    }
    status.ok = result.is_ok();
    // LIST ID USAGE 11b: the initiator does not want the results held.
    if list.list_id_usage != 3 {
        let mut held = sc.copy_results.lock();
        held.rotate_left(1);
        if let Some(last) = held.last_mut() {
            *last = Some((list.list_id, status));
        }
        // One entry per LIST IDENTIFIER: the newest.
        let n = held.len();
        for slot in held.iter_mut().take(n - 1) {
            if slot.is_some_and(|(id, _)| id == list.list_id) {
                *slot = None;
            }
        }
    }
    result
}

/// RECEIVE COPY RESULTS: OPERATING PARAMETERS, or the COPY STATUS of the
/// list identified by CDB byte 2. Returns the data-in length.
pub(crate) fn receive_copy_results(
    sc: &SessionCore,
    cdb: &[u8],
    buf: &mut [u8],
) -> core::result::Result<usize, Sense> {
    let sa = cdb.get(1).copied().unwrap_or(0) & 0x1f;
    let n = match sa {
        xcopy::SA_OPERATING_PARAMETERS => xcopy::operating_parameters(buf),
        xcopy::SA_COPY_STATUS => {
            let id = cdb.get(2).copied().unwrap_or(0);
            let st = sc
                .copy_results
                .lock()
                .iter()
                .flatten()
                .find(|(l, _)| *l == id)
                .map(|(_, s)| *s)
                .ok_or(Sense::invalid_field_in_cdb(2, None))?;
            xcopy::copy_status(&st, buf)
        }
        _ => return Err(Sense::invalid_field_in_cdb(1, Some(4))),
    };
    Ok(n.min(buf.len()))
}
