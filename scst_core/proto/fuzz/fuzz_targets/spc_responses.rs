// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the SPC response builders with arbitrary CDBs and LU identities:
//! `spc::inquiry`, `spc::inquiry_no_lu`, `lun::report_luns`,
//! `spc::report_supported_opcodes`, `spc::report_supported_tmfs`,
//! `spc::log_sense` and `spc::request_sense`, each into a small and a large
//! buffer.
//!
//! Input: a 16-byte CDB (its operation code is forced per command), then
//! bytes for the identity, the LUN list, an extra opcode entry and the
//! pending sense (via `arbitrary::Unstructured`).
//!
//! Checks that nothing panics, that the buffer size changes neither the
//! outcome nor the full length, that what is stored is the full response
//! truncated to min(allocation length, buffer), and a few fields per command.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use scst_proto::{
    bytes::{get_u16, get_u32, get_u8},
    cdb,
    lun::{self, LunAddr, ReportLunsOptions},
    sense::{self, Format, Sense},
    spc::{self, Ascii, BlockLimits, DataIn, DeviceIdentity, NaaId, OpcodeInfo, TmfSupport},
    types::PeripheralType,
};

const TYPES: [PeripheralType; 11] = [
    PeripheralType::Disk,
    PeripheralType::Tape,
    PeripheralType::Printer,
    PeripheralType::Processor,
    PeripheralType::Worm,
    PeripheralType::Cdrom,
    PeripheralType::OpticalMemory,
    PeripheralType::Changer,
    PeripheralType::Raid,
    PeripheralType::Enclosure,
    PeripheralType::Unknown,
];

const BIG: usize = 16384;

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

/// Runs `f` into a small and a large buffer and compares the results;
/// returns the full response (if it fits the large buffer) for more checks.
fn both<F>(small_len: usize, alloc: usize, f: F) -> Option<Vec<u8>>
where
    F: Fn(&mut [u8]) -> core::result::Result<DataIn, Sense>,
{
    let mut big = vec![0u8; BIG];
    let mut small = vec![0u8; small_len];
    match (f(&mut big), f(&mut small)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.full_len, b.full_len, "full length depends on the buffer");
            assert_eq!(a.len, a.full_len.min(alloc).min(BIG));
            assert_eq!(b.len, a.full_len.min(alloc).min(small_len));
            assert_eq!(
                small[..b.len],
                big[..b.len],
                "truncated data is not a prefix"
            );
            (a.full_len <= alloc.min(BIG)).then(|| big[..a.len].to_vec())
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            check_sense(&a);
            None
        }
        (a, b) => panic!("buffer size changed the outcome: {a:?} vs {b:?}"),
    }
}

fn ascii<const N: usize>(u: &mut Unstructured<'_>) -> Result<Ascii<N>> {
    let n = u.int_in_range(0..=N + 2)?;
    Ok(Ascii::new(u.bytes(n)?))
}

fn identity(u: &mut Unstructured<'_>) -> Result<DeviceIdentity> {
    let t = TYPES[usize::from(u.arbitrary::<u8>()?) % TYPES.len()];
    let mut id = DeviceIdentity::new(t);
    if u.arbitrary::<bool>()? {
        return Ok(id);
    }
    id.removable = u.arbitrary()?;
    id.vendor = ascii(u)?;
    id.product = ascii(u)?;
    id.revision = ascii(u)?;
    id.vendor_specific = ascii(u)?;
    id.t10_vendor = ascii(u)?;
    id.t10_dev_id = ascii(u)?;
    id.unit_serial = ascii(u)?;
    id.naa = match u.arbitrary::<u8>()? % 4 {
        0 => None,
        3 => Some(NaaId::Local {
            value: u.arbitrary()?,
        }),
        1 => Some(NaaId::Registered {
            company_id: u.arbitrary()?,
            vendor_id: u.arbitrary()?,
        }),
        _ => Some(NaaId::RegisteredExtended {
            company_id: u.arbitrary()?,
            vendor_id: u.arbitrary()?,
            extension: u.arbitrary()?,
        }),
    };
    id.relative_port = u.arbitrary()?;
    id.port_group = u.arbitrary()?;
    id.protocol_id = u.arbitrary()?;
    id.device_name = ascii(u)?;
    id.tpgs = u.arbitrary()?;
    id.read_only = u.arbitrary()?;
    id.thin_provisioned = u.arbitrary()?;
    id.provisioning.lbpu = u.arbitrary()?;
    id.provisioning.lbpws = u.arbitrary()?;
    id.provisioning.lbpws10 = u.arbitrary()?;
    id.provisioning.lbprz = u.arbitrary()?;
    id.provisioning.anc_sup = u.arbitrary()?;
    id.provisioning.threshold_exponent = u.arbitrary()?;
    id.block_limits = BlockLimits {
        wsnz: u.arbitrary()?,
        max_compare_write_len: u.arbitrary()?,
        opt_xfer_granularity: u.arbitrary()?,
        max_xfer_len: u.arbitrary()?,
        opt_xfer_len: u.arbitrary()?,
        max_unmap_lba_count: u.arbitrary()?,
        max_unmap_descriptors: u.arbitrary()?,
        unmap_granularity: u.arbitrary()?,
        unmap_granularity_alignment: u.arbitrary()?,
        max_write_same_len: u.arbitrary()?,
    };
    id.rotation_rate = u.arbitrary()?;
    id.protect = u.arbitrary()?;
    id.tpc = u.arbitrary()?;
    id.cmdque = u.arbitrary()?;
    id.hisup = u.arbitrary()?;
    id.volatile_cache = u.arbitrary()?;
    for v in id.version_descriptors.iter_mut() {
        *v = u.arbitrary()?;
    }
    Ok(id)
}

fn with_op(c: &[u8; 16], op: u8) -> [u8; 16] {
    let mut c = *c;
    c[0] = op;
    c
}

fn run(data: &[u8]) -> Result<()> {
    let mut c = [0u8; 16];
    for (i, b) in c.iter_mut().enumerate() {
        *b = get_u8(data, i);
    }
    let mut u = Unstructured::new(data.get(16..).unwrap_or_default());
    let small = usize::from(u.arbitrary::<u8>()?) % 72;
    let id = identity(&mut u)?;

    // INQUIRY.
    let inq = with_op(&c, spc::INQUIRY);
    let alloc = usize::from(get_u16(&inq, 3));
    if let Some(d) = both(small, alloc, |b| spc::inquiry(&inq, &id, b)) {
        if d.len() >= 4 {
            assert_eq!(d[0], id.peripheral_type as u8 & 0x1f);
            if inq[1] & 1 == 0 {
                assert_eq!(usize::from(d[4]) + 5, d.len());
            } else {
                assert_eq!(d[1], inq[2]);
                assert_eq!(usize::from(get_u16(&d, 2)) + 4, d.len());
            }
        }
    }
    for q in [spc::Qualifier::NotConnected, spc::Qualifier::NotSupported] {
        both(small, alloc, |b| spc::inquiry_no_lu(&inq, q, b));
    }

    // REPORT LUNS.
    let rl = with_op(&c, lun::REPORT_LUNS);
    let n = u.int_in_range(0..=40)?;
    let mut luns = Vec::with_capacity(n);
    for _ in 0..n {
        luns.push(u.arbitrary::<u16>()? % (lun::MAX_LUN + 64));
    }
    let opts = ReportLunsOptions {
        wlun: u.arbitrary()?,
        lun0_if_empty: u.arbitrary()?,
    };
    let alloc = get_u32(&rl, 6) as usize;
    if let Some(d) = both(small, alloc, |b| {
        lun::report_luns(&rl, luns.iter().copied(), opts, b)
    }) {
        assert_eq!(get_u32(&d, 0) as usize + 8, d.len());
        for e in d[8..].chunks(lun::LUN_LEN) {
            match lun::decode(e).expect("reported LUN does not decode") {
                LunAddr::Lun(l) => assert!(l <= lun::MAX_LUN),
                LunAddr::ReportLunsWlun => assert!(opts.wlun),
            }
        }
    }

    // REPORT SUPPORTED OPERATION CODES over the type's command table plus
    // one arbitrary entry.
    let usage_len = u.int_in_range(0..=40)?;
    let usage = u.bytes(usage_len)?;
    let extra = OpcodeInfo {
        opcode: u.arbitrary()?,
        service_action: u.arbitrary()?,
        cdb_len: 1 + u.arbitrary::<u16>()? % 299,
        usage,
        nominal_timeout: u.arbitrary()?,
        recommended_timeout: u.arbitrary()?,
    };
    let mut cmds: Vec<OpcodeInfo<'_>> = cdb::supported(id.peripheral_type)
        .map(|o| OpcodeInfo {
            opcode: o.opcode,
            service_action: o.sa,
            cdb_len: u16::from(o.cdb_len),
            usage: &[],
            nominal_timeout: 0,
            recommended_timeout: 30,
        })
        .collect();
    if u.arbitrary()? {
        cmds.push(extra);
    }
    let mut rsoc = with_op(&c, spc::MAINTENANCE_IN);
    rsoc[1] = spc::SA_REPORT_SUPPORTED_OPCODES;
    let alloc = get_u32(&rsoc, 6) as usize;
    if let Some(d) = both(small, alloc, |b| {
        spc::report_supported_opcodes(&rsoc, &cmds, b)
    }) {
        let rctd = rsoc[2] & 0x80 != 0;
        if rsoc[2] & 7 == 0 {
            assert_eq!(get_u32(&d, 0) as usize + 4, d.len());
            assert_eq!(d.len(), 4 + cmds.len() * if rctd { 20 } else { 8 });
        } else if d[1] & 7 == 3 {
            assert_eq!(d[4], rsoc[3]);
            let cl = usize::from(get_u16(&d, 2));
            assert_eq!(d.len(), 4 + cl + if rctd { 12 } else { 0 });
        } else {
            assert_eq!(d.len(), 4);
        }
    }
    let mut rstmf = rsoc;
    rstmf[1] = spc::SA_REPORT_SUPPORTED_TMFS;
    let alloc = get_u32(&rstmf, 6) as usize;
    both(small, alloc, |b| {
        spc::report_supported_tmfs(&rstmf, &TmfSupport::SCST, b)
    });

    // LOG SENSE.
    let ls = with_op(&c, spc::LOG_SENSE);
    let alloc = usize::from(get_u16(&ls, 7));
    both(small, alloc, |b| spc::log_sense(&ls, b));

    // REQUEST SENSE with no pending sense or with an arbitrary one.
    let rs = with_op(&c, spc::REQUEST_SENSE);
    let n = u.int_in_range(0..=40)?;
    let pending = Sense::decode(u.bytes(n)?).map(|(s, _)| s);
    let alloc = usize::from(rs[4]);
    if let Some(d) = both(small, alloc, |b| {
        Ok(spc::request_sense(&rs, pending.as_ref(), b))
    }) {
        let (key, asc) = sense::key_asc(&d).expect("REQUEST SENSE data does not decode");
        match &pending {
            Some(p) => assert_eq!((key, asc), (p.key, p.asc)),
            None => assert_eq!((key, asc), (sense::Key::NoSense, sense::asc::NO_ADDITIONAL)),
        }
        let desc = rs[1] & 1 != 0;
        assert_eq!(d[0] & 0x7f, if desc { 0x72 } else { 0x70 });
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
