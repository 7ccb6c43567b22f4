// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the target login state machine (`iscsi_proto::login`) with a
//! series of Login Requests and data segments, and the text parser and
//! SendTargets writer on the same bytes.
//!
//! Input: one configuration byte (authentication policy, mutual CHAP,
//! discovery, limits), then records of a 4-byte header (flags with T, C,
//! CSG, NSG; a byte of header-field mutations; a 2-byte data length) and
//! that many data bytes (fewer if the input ends). With bit 7 of the
//! mutation byte set, a record's data is replaced by a well-formed login
//! text chosen by the low bits, so that the fuzzer reaches the CHAP and
//! operational stages.
//!
//! Checks that nothing panics and that:
//! - the response text fits the caller's buffer and is a valid text;
//! - a failed step sets `close`, leaves an empty text and fails the state;
//! - a completed login has T=1, CSG=1, NSG=3 and FirstBurstLength <=
//!   MaxBurstLength, and never happens without the CHAP secret when CHAP is
//!   required;
//! - SendTargets chunks reassemble to the whole answer.

#![no_main]

use iscsi_proto::discovery::{self, IpAddr, Portal, SessionKind, TargetDirectory};
use iscsi_proto::login::{
    AuthPolicy, LoginEnv, LoginRequest, LoginState, SessionLookup, LOGIN_TEXT_MAX,
};
use iscsi_proto::params::{DigestPolicy, TargetLimits};
use iscsi_proto::text;
use libfuzzer_sys::fuzz_target;

const TGT: &[u8] = b"iqn.2024-01.org.example:disk1";

struct Env {
    cfg: u8,
    rnd: u32,
}

impl LoginEnv for Env {
    fn target_exists(&self, target: &[u8]) -> bool {
        target == TGT
    }
    fn discovery_enabled(&self) -> bool {
        self.cfg & 0x04 == 0
    }
    fn access_allowed(&self, _t: Option<&[u8]>, initiator: &[u8]) -> bool {
        initiator != b"iqn.denied"
    }
    fn auth_policy(&self, _t: Option<&[u8]>) -> AuthPolicy {
        match self.cfg & 3 {
            0 | 1 => AuthPolicy::None,
            2 => AuthPolicy::Chap { mutual: false },
            _ => AuthPolicy::Chap { mutual: true },
        }
    }
    fn chap_secret(&self, _t: Option<&[u8]>, _n: &[u8]) -> Option<&[u8]> {
        // The fuzzer cannot know the challenge, but may guess a response.
        Some(b"0123456789abcdef")
    }
    fn mutual_chap(&self, _t: Option<&[u8]>) -> Option<(&[u8], &[u8])> {
        (self.cfg & 0x08 != 0).then_some((&b"tuser"[..], &b"fedcba9876543210"[..]))
    }
    fn limits(&self, _t: Option<&[u8]>) -> TargetLimits {
        if self.cfg & 0x10 != 0 {
            TargetLimits {
                max_burst_length: 65536,
                first_burst_length: 4096,
                immediate_data: false,
                default_time2wait: 9,
                header_digest: DigestPolicy::Crc32cOnly,
                ..TargetLimits::RFC_DEFAULTS
            }
        } else {
            TargetLimits::RFC_DEFAULTS
        }
    }
    fn portal_group_tag(&self) -> u16 {
        1
    }
    fn target_alias(&self, _t: &[u8]) -> Option<&[u8]> {
        (self.cfg & 0x20 != 0).then_some(&b"alias"[..])
    }
    fn session(&self, _i: &[u8], _isid: &[u8; 6], tsih: u16) -> SessionLookup {
        if tsih == 1 {
            SessionLookup::Found {
                connections: 1,
                max_connections: 2,
            }
        } else {
            SessionLookup::NotFound
        }
    }
    fn random(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.rnd = self.rnd.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (self.rnd >> 16) as u8;
        }
    }
}

const CANNED: [&[u8]; 8] = [
    b"InitiatorName=iqn.x\0TargetName=iqn.2024-01.org.example:disk1\0AuthMethod=CHAP,None\0",
    b"InitiatorName=iqn.x\0SessionType=Discovery\0AuthMethod=None,CHAP\0",
    b"CHAP_A=5\0",
    b"CHAP_N=u\0CHAP_R=0x00112233445566778899aabbccddeeff\0CHAP_I=1\0CHAP_C=0x0102\0",
    b"HeaderDigest=CRC32C,None\0MaxBurstLength=16384\0FirstBurstLength=262144\0InitialR2T=No\0",
    b"ImmediateData=No\0MaxBurstLength=65536\0DefaultTime2Wait=9\0HeaderDigest=CRC32C\0",
    b"MaxRecvDataSegmentLength=4096\0X-foo=bar\0OFMarker=Yes\0OFMarkInt=1\0",
    b"",
];

struct Dir;

impl TargetDirectory for Dir {
    fn for_each_target(&self, f: &mut dyn FnMut(&[u8])) {
        f(TGT);
        f(b"iqn.2024-01.org.example:disk2");
    }
    fn for_each_portal(&self, _t: &[u8], f: &mut dyn FnMut(&Portal)) {
        f(&Portal {
            addr: IpAddr::V4([10, 0, 0, 1]),
            port: 3260,
            tpgt: 1,
        });
        f(&Portal {
            addr: IpAddr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            port: 3260,
            tpgt: 2,
        });
    }
    fn visible(&self, t: &[u8], _i: &[u8]) -> bool {
        t != b"iqn.2024-01.org.example:disk2"
    }
}

fn check_send_targets(value: &[u8], size: usize) {
    let mut whole = [0u8; 2048];
    let c = discovery::send_targets(&Dir, SessionKind::Discovery, b"i", value, 0, &mut whole);
    assert!(c.len <= whole.len());
    if c.more {
        return;
    }
    let mut got = [0u8; 2048];
    let mut off = 0;
    let size = size.clamp(1, 64);
    loop {
        let mut buf = [0u8; 64];
        let ch = discovery::send_targets(
            &Dir,
            SessionKind::Normal(TGT),
            b"i",
            value,
            off,
            &mut buf[..size],
        );
        assert!(ch.len <= size);
        let _ = ch;
        let ch = discovery::send_targets(
            &Dir,
            SessionKind::Discovery,
            b"i",
            value,
            off,
            &mut buf[..size],
        );
        got[off..off + ch.len].copy_from_slice(&buf[..ch.len]);
        off = ch.next_offset;
        if !ch.more {
            break;
        }
    }
    assert_eq!(&got[..off], &whole[..c.total]);
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    // The parser on the raw bytes.
    for kv in text::TextIter::new(rest).take(4096) {
        match kv {
            Ok((k, v)) => {
                assert!(!k.is_empty() && k.len() <= text::MAX_KEY_LEN);
                assert!(v.len() <= text::max_value_len(k));
                if k == b"SendTargets" {
                    check_send_targets(v, usize::from(cfg));
                }
            }
            Err(_) => break,
        }
    }
    let _ = discovery::validate_iscsi_name(rest.get(..rest.len().min(300)).unwrap_or(&[]));

    let mut env = Env { cfg, rnd: 1 };
    let mut st = Box::new(LoginState::new());
    let mut out = vec![0u8; usize::from(cfg >> 6) * 2048 + 512];
    let chap = cfg & 3 >= 2;
    let mut steps = 0;
    while rest.len() >= 4 && steps < 100 {
        steps += 1;
        let (h, tail) = rest.split_at(4);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]])).min(tail.len());
        let (seg, tail) = tail.split_at(len);
        rest = tail;
        let (flags, m) = (h[0], h[1]);
        let req = LoginRequest {
            transit: flags & 0x80 != 0,
            cont: flags & 0x40 != 0,
            csg: (flags >> 2) & 3,
            nsg: flags & 3,
            version_max: if m & 0x01 != 0 { 3 } else { 0 },
            version_min: if m & 0x02 != 0 { 1 } else { 0 },
            isid: [0x80, 0, 0, 1, 2, (m >> 2) & 1],
            tsih: u16::from((m >> 3) & 1),
            itt: u32::from((m >> 4) & 1),
            cid: 1,
            cmd_sn: u32::from(m),
            exp_stat_sn: 0,
        };
        let seg = if m & 0x80 != 0 {
            CANNED[usize::from(m & 7)]
        } else {
            seg
        };
        let reply = st.step(&mut env, &req, seg, &mut out);
        assert!(reply.text_len <= out.len());
        assert!(reply.text_len <= LOGIN_TEXT_MAX.max(out.len()));
        assert!(text::validate(&out[..reply.text_len]).is_ok());
        assert!(!reply.cont);
        if !reply.status.is_success() {
            assert!(reply.close && reply.text_len == 0 && !reply.complete);
            assert!(st.is_failed());
            break;
        }
        if reply.complete {
            assert!(reply.transit && reply.csg == 1 && reply.nsg == 3);
            assert!(st.is_complete());
            let (s, c) = st.params().expect("params after completion");
            assert!(s.first_burst_length <= s.max_burst_length);
            assert!(c.max_recv_data_segment_length >= 512);
            assert!(!chap, "CHAP login completed without the right response");
            break;
        }
    }
});
