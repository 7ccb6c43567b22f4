// SPDX-License-Identifier: GPL-2.0

//! Sense data (SPC-4 4.5): the typed catalogue of conditions the target
//! reports, and their encoding in fixed (0x70/0x71) or descriptor (0x72/0x73)
//! format.

use super::bytes::{
    get_u32,
    get_u64,
    get_u8,
    put_u16,
    put_u32,
    put_u64,
    put_u8, //
};

/// Sense keys (SPC-4 table 48).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Key {
    /// NO SENSE.
    NoSense = 0x0,
    /// RECOVERED ERROR.
    RecoveredError = 0x1,
    /// NOT READY.
    NotReady = 0x2,
    /// MEDIUM ERROR.
    MediumError = 0x3,
    /// HARDWARE ERROR.
    HardwareError = 0x4,
    /// ILLEGAL REQUEST.
    IllegalRequest = 0x5,
    /// UNIT ATTENTION.
    UnitAttention = 0x6,
    /// DATA PROTECT.
    DataProtect = 0x7,
    /// BLANK CHECK.
    BlankCheck = 0x8,
    /// VENDOR SPECIFIC.
    VendorSpecific = 0x9,
    /// COPY ABORTED.
    CopyAborted = 0xa,
    /// ABORTED COMMAND.
    AbortedCommand = 0xb,
    /// VOLUME OVERFLOW.
    VolumeOverflow = 0xd,
    /// MISCOMPARE.
    Miscompare = 0xe,
    /// COMPLETED.
    Completed = 0xf,
}

impl Key {
    /// Decodes the low four bits of a sense key byte.
    pub fn from_u8(v: u8) -> Self {
        match v & 0xf {
            0x0 => Self::NoSense,
            0x1 => Self::RecoveredError,
            0x2 => Self::NotReady,
            0x3 => Self::MediumError,
            0x4 => Self::HardwareError,
            0x5 => Self::IllegalRequest,
            0x6 => Self::UnitAttention,
            0x7 => Self::DataProtect,
            0x8 => Self::BlankCheck,
            0x9 => Self::VendorSpecific,
            0xa => Self::CopyAborted,
            0xb => Self::AbortedCommand,
            0xd => Self::VolumeOverflow,
            0xe => Self::Miscompare,
            // 0xc is obsolete; report it as COMPLETED's neighbour would be
            // wrong, so fold it into VENDOR SPECIFIC rather than panic.
            0xc => Self::VendorSpecific,
            _ => Self::Completed,
        }
    }
}

/// An additional sense code and qualifier (SPC-4 table D.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asc(pub u8, pub u8);

/// The additional sense codes used by scst-rs.
pub mod asc {
    use super::Asc;

    /// 00/00 NO ADDITIONAL SENSE INFORMATION.
    pub const NO_ADDITIONAL: Asc = Asc(0x00, 0x00);
    /// 04/00 LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE.
    pub const NOT_READY: Asc = Asc(0x04, 0x00);
    /// 04/01 LOGICAL UNIT IS IN PROCESS OF BECOMING READY.
    pub const BECOMING_READY: Asc = Asc(0x04, 0x01);
    /// 04/02 LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED.
    pub const INIT_CMD_REQUIRED: Asc = Asc(0x04, 0x02);
    /// 04/03 LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED.
    pub const MANUAL_INTERVENTION: Asc = Asc(0x04, 0x03);
    /// 04/04 LOGICAL UNIT NOT READY, FORMAT IN PROGRESS.
    pub const FORMAT_IN_PROGRESS: Asc = Asc(0x04, 0x04);
    /// 04/0A LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION.
    pub const ALUA_TRANSITION: Asc = Asc(0x04, 0x0a);
    /// 04/0B LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
    pub const ALUA_STANDBY: Asc = Asc(0x04, 0x0b);
    /// 04/0C LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE.
    pub const ALUA_UNAVAILABLE: Asc = Asc(0x04, 0x0c);
    /// 08/00 LOGICAL UNIT COMMUNICATION FAILURE.
    pub const LU_COMMUNICATION_FAILURE: Asc = Asc(0x08, 0x00);
    /// 0C/00 WRITE ERROR.
    pub const WRITE_ERROR: Asc = Asc(0x0c, 0x00);
    /// 0D/02 COPY TARGET DEVICE NOT REACHABLE.
    pub const COPY_TARGET_NOT_REACHABLE: Asc = Asc(0x0d, 0x02);
    /// 0E/03 INVALID FIELD IN COMMAND INFORMATION UNIT.
    pub const INVALID_FIELD_IN_IU: Asc = Asc(0x0e, 0x03);
    /// 11/00 UNRECOVERED READ ERROR.
    pub const UNRECOVERED_READ_ERROR: Asc = Asc(0x11, 0x00);
    /// 1A/00 PARAMETER LIST LENGTH ERROR.
    pub const PARAMETER_LIST_LENGTH_ERROR: Asc = Asc(0x1a, 0x00);
    /// 1D/00 MISCOMPARE DURING VERIFY OPERATION.
    pub const MISCOMPARE_DURING_VERIFY: Asc = Asc(0x1d, 0x00);
    /// 20/00 INVALID COMMAND OPERATION CODE.
    pub const INVALID_OPCODE: Asc = Asc(0x20, 0x00);
    /// 21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const LBA_OUT_OF_RANGE: Asc = Asc(0x21, 0x00);
    /// 24/00 INVALID FIELD IN CDB.
    pub const INVALID_FIELD_IN_CDB: Asc = Asc(0x24, 0x00);
    /// 25/00 LOGICAL UNIT NOT SUPPORTED.
    pub const LUN_NOT_SUPPORTED: Asc = Asc(0x25, 0x00);
    /// 26/00 INVALID FIELD IN PARAMETER LIST.
    pub const INVALID_FIELD_IN_PARAM_LIST: Asc = Asc(0x26, 0x00);
    /// 26/01 PARAMETER NOT SUPPORTED.
    pub const PARAMETER_NOT_SUPPORTED: Asc = Asc(0x26, 0x01);
    /// 26/02 PARAMETER VALUE INVALID.
    pub const PARAMETER_VALUE_INVALID: Asc = Asc(0x26, 0x02);
    /// 26/04 INVALID RELEASE OF PERSISTENT RESERVATION.
    pub const INVALID_RELEASE_OF_PR: Asc = Asc(0x26, 0x04);
    /// 26/06 TOO MANY TARGET DESCRIPTORS.
    pub const TOO_MANY_TARGET_DESCRIPTORS: Asc = Asc(0x26, 0x06);
    /// 26/07 UNSUPPORTED TARGET DESCRIPTOR TYPE CODE.
    pub const UNSUPPORTED_TARGET_DESCRIPTOR: Asc = Asc(0x26, 0x07);
    /// 26/08 TOO MANY SEGMENT DESCRIPTORS.
    pub const TOO_MANY_SEGMENT_DESCRIPTORS: Asc = Asc(0x26, 0x08);
    /// 26/09 UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE.
    pub const UNSUPPORTED_SEGMENT_DESCRIPTOR: Asc = Asc(0x26, 0x09);
    /// 27/00 WRITE PROTECTED.
    pub const WRITE_PROTECTED: Asc = Asc(0x27, 0x00);
    /// 28/00 NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED.
    pub const MEDIUM_MAY_HAVE_CHANGED: Asc = Asc(0x28, 0x00);
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    pub const POWER_ON_RESET: Asc = Asc(0x29, 0x00);
    /// 29/01 POWER ON OCCURRED.
    pub const POWER_ON: Asc = Asc(0x29, 0x01);
    /// 29/02 SCSI BUS RESET OCCURRED.
    pub const BUS_RESET: Asc = Asc(0x29, 0x02);
    /// 29/03 BUS DEVICE RESET FUNCTION OCCURRED.
    pub const BUS_DEVICE_RESET: Asc = Asc(0x29, 0x03);
    /// 29/04 DEVICE INTERNAL RESET.
    pub const DEVICE_INTERNAL_RESET: Asc = Asc(0x29, 0x04);
    /// 29/05 TRANSCEIVER MODE CHANGED TO SINGLE-ENDED.
    pub const TRANSCEIVER_SE: Asc = Asc(0x29, 0x05);
    /// 29/06 TRANSCEIVER MODE CHANGED TO LVD.
    pub const TRANSCEIVER_LVD: Asc = Asc(0x29, 0x06);
    /// 29/07 I_T NEXUS LOSS OCCURRED.
    pub const I_T_NEXUS_LOSS: Asc = Asc(0x29, 0x07);
    /// 2A/01 MODE PARAMETERS CHANGED.
    pub const MODE_PARAMETERS_CHANGED: Asc = Asc(0x2a, 0x01);
    /// 2A/02 LOG PARAMETERS CHANGED.
    pub const LOG_PARAMETERS_CHANGED: Asc = Asc(0x2a, 0x02);
    /// 2A/03 RESERVATIONS PREEMPTED.
    pub const RESERVATIONS_PREEMPTED: Asc = Asc(0x2a, 0x03);
    /// 2A/04 RESERVATIONS RELEASED.
    pub const RESERVATIONS_RELEASED: Asc = Asc(0x2a, 0x04);
    /// 2A/05 REGISTRATIONS PREEMPTED.
    pub const REGISTRATIONS_PREEMPTED: Asc = Asc(0x2a, 0x05);
    /// 2A/06 ASYMMETRIC ACCESS STATE CHANGED.
    pub const ALUA_STATE_CHANGED: Asc = Asc(0x2a, 0x06);
    /// 2A/09 CAPACITY DATA HAS CHANGED.
    pub const CAPACITY_DATA_CHANGED: Asc = Asc(0x2a, 0x09);
    /// 2C/00 COMMAND SEQUENCE ERROR.
    pub const COMMAND_SEQUENCE_ERROR: Asc = Asc(0x2c, 0x00);
    /// 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR.
    pub const COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: Asc = Asc(0x2f, 0x00);
    /// 2F/02 COMMANDS CLEARED BY DEVICE SERVER.
    pub const COMMANDS_CLEARED_BY_DEVICE_SERVER: Asc = Asc(0x2f, 0x02);
    /// 30/00 INCOMPATIBLE MEDIUM INSTALLED.
    pub const INCOMPATIBLE_MEDIUM: Asc = Asc(0x30, 0x00);
    /// 38/07 THIN PROVISIONING SOFT THRESHOLD REACHED.
    pub const THIN_PROVISIONING_SOFT_THRESHOLD: Asc = Asc(0x38, 0x07);
    /// 39/00 SAVING PARAMETERS NOT SUPPORTED.
    pub const SAVING_PARAMETERS_NOT_SUPPORTED: Asc = Asc(0x39, 0x00);
    /// 3A/00 MEDIUM NOT PRESENT.
    pub const MEDIUM_NOT_PRESENT: Asc = Asc(0x3a, 0x00);
    /// 3A/01 MEDIUM NOT PRESENT - TRAY CLOSED.
    pub const MEDIUM_NOT_PRESENT_TRAY_CLOSED: Asc = Asc(0x3a, 0x01);
    /// 3A/02 MEDIUM NOT PRESENT - TRAY OPEN.
    pub const MEDIUM_NOT_PRESENT_TRAY_OPEN: Asc = Asc(0x3a, 0x02);
    /// 3F/03 INQUIRY DATA HAS CHANGED.
    pub const INQUIRY_DATA_CHANGED: Asc = Asc(0x3f, 0x03);
    /// 3F/0E REPORTED LUNS DATA HAS CHANGED.
    pub const REPORTED_LUNS_DATA_CHANGED: Asc = Asc(0x3f, 0x0e);
    /// 44/00 INTERNAL TARGET FAILURE.
    pub const INTERNAL_TARGET_FAILURE: Asc = Asc(0x44, 0x00);
    /// 47/05 PROTOCOL SERVICE CRC ERROR (iSCSI digest errors).
    pub const PROTOCOL_SERVICE_CRC_ERROR: Asc = Asc(0x47, 0x05);
    /// 48/00 INITIATOR DETECTED ERROR MESSAGE RECEIVED.
    pub const INITIATOR_DETECTED_ERROR: Asc = Asc(0x48, 0x00);
    /// 49/00 INVALID MESSAGE ERROR.
    pub const INVALID_MESSAGE: Asc = Asc(0x49, 0x00);
    /// 4B/00 DATA PHASE ERROR.
    pub const DATA_PHASE_ERROR: Asc = Asc(0x4b, 0x00);
    /// 4B/04 NAK RECEIVED.
    pub const NAK_RECEIVED: Asc = Asc(0x4b, 0x04);
    /// 4E/00 OVERLAPPED COMMANDS ATTEMPTED.
    pub const OVERLAPPED_COMMANDS: Asc = Asc(0x4e, 0x00);
    /// 53/02 MEDIUM REMOVAL PREVENTED.
    pub const MEDIUM_REMOVAL_PREVENTED: Asc = Asc(0x53, 0x02);
    /// 55/03 INSUFFICIENT RESOURCES.
    pub const INSUFFICIENT_RESOURCES: Asc = Asc(0x55, 0x03);
    /// 55/04 INSUFFICIENT REGISTRATION RESOURCES.
    pub const INSUFFICIENT_REGISTRATION_RESOURCES: Asc = Asc(0x55, 0x04);
}

/// The sense-key-specific field (SPC-4 4.5.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Specific {
    /// Which byte (and optionally bit) of the CDB or parameter list is wrong.
    FieldPointer {
        /// `true`: the CDB (C/D = 1); `false`: the parameter list.
        in_cdb: bool,
        /// Byte offset of the offending field.
        byte: u16,
        /// Bit position (0-7) of the offending field's most significant bit.
        bit: Option<u8>,
    },
    /// Progress indication (NOT READY, e.g. format in progress), 0..=65535.
    Progress(u16),
}

impl Specific {
    /// Encodes the three SKS bytes, with SKSV set.
    fn encode(self) -> [u8; 3] {
        match self {
            Specific::FieldPointer { in_cdb, byte, bit } => {
                let mut b0 = 0x80;
                if in_cdb {
                    b0 |= 0x40;
                }
                if let Some(bit) = bit {
                    b0 |= 0x08 | (bit & 7);
                }
                let [hi, lo] = byte.to_be_bytes();
                [b0, hi, lo]
            }
            Specific::Progress(p) => {
                let [hi, lo] = p.to_be_bytes();
                [0x80, hi, lo]
            }
        }
    }

    /// Decodes three SKS bytes for a given sense key; `None` if SKSV is clear.
    fn decode(key: Key, b: [u8; 3]) -> Option<Self> {
        if b[0] & 0x80 == 0 {
            return None;
        }
        let v = u16::from_be_bytes([b[1], b[2]]);
        match key {
            Key::IllegalRequest => Some(Specific::FieldPointer {
                in_cdb: b[0] & 0x40 != 0,
                byte: v,
                bit: (b[0] & 0x08 != 0).then_some(b[0] & 7),
            }),
            _ => Some(Specific::Progress(v)),
        }
    }
}

/// Sense data format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Fixed format (response codes 0x70/0x71), 18 bytes.
    Fixed,
    /// Descriptor format (response codes 0x72/0x73), selected by D_SENSE.
    Descriptor,
}

/// Length of fixed-format sense data as produced here.
pub const FIXED_LEN: usize = 18;
/// Largest sense data produced here (descriptor format with information,
/// command-specific and sense-key-specific descriptors).
pub const MAX_LEN: usize = 8 + 12 + 12 + 8;
/// Size of a sense buffer that can hold any sense data (SPC-4: 252 bytes).
pub const BUFFER_SIZE: usize = 252;

/// One sense condition: key, additional sense code and optional fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sense {
    /// The sense key.
    pub key: Key,
    /// The additional sense code and qualifier.
    pub asc: Asc,
    /// The INFORMATION field (e.g. the LBA in error, the MISCOMPARE offset).
    pub info: Option<u64>,
    /// The COMMAND-SPECIFIC INFORMATION field (e.g. EXTENDED COPY).
    pub cmd_info: Option<u64>,
    /// The sense-key-specific field.
    pub specific: Option<Specific>,
    /// ILI bit (fixed format byte 2, descriptor format: stream descriptor; set
    /// only in fixed format here).
    pub ili: bool,
}

impl Sense {
    /// A sense condition with no optional fields.
    pub const fn new(key: Key, asc: Asc) -> Self {
        Self {
            key,
            asc,
            info: None,
            cmd_info: None,
            specific: None,
            ili: false,
        }
    }

    /// Sets the INFORMATION field.
    pub const fn with_info(mut self, info: u64) -> Self {
        self.info = Some(info);
        self
    }

    /// Sets the COMMAND-SPECIFIC INFORMATION field.
    pub const fn with_cmd_info(mut self, info: u64) -> Self {
        self.cmd_info = Some(info);
        self
    }

    /// Sets the sense-key-specific field.
    pub const fn with_specific(mut self, s: Specific) -> Self {
        self.specific = Some(s);
        self
    }

    /// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE, pointing at CDB byte 0.
    pub const fn invalid_opcode() -> Self {
        Self::new(Key::IllegalRequest, asc::INVALID_OPCODE).with_specific(Specific::FieldPointer {
            in_cdb: true,
            byte: 0,
            bit: None,
        })
    }

    /// ILLEGAL REQUEST, INVALID FIELD IN CDB at `byte` (and `bit`, if known).
    pub const fn invalid_field_in_cdb(byte: u16, bit: Option<u8>) -> Self {
        Self::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_CDB).with_specific(
            Specific::FieldPointer {
                in_cdb: true,
                byte,
                bit,
            },
        )
    }

    /// ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST at `byte`/`bit`.
    pub const fn invalid_field_in_param(byte: u16, bit: Option<u8>) -> Self {
        Self::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_PARAM_LIST).with_specific(
            Specific::FieldPointer {
                in_cdb: false,
                byte,
                bit,
            },
        )
    }

    /// ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT: the
    /// transport's expected data transfer length is shorter than the data
    /// the command writes (FCP-4 9.4.2 b; SAM-5 5.4.3 "overflow").
    pub const fn invalid_field_in_iu() -> Self {
        Self::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_IU)
    }

    /// ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR.
    pub const fn param_list_length_error() -> Self {
        Self::new(Key::IllegalRequest, asc::PARAMETER_LIST_LENGTH_ERROR)
    }

    /// ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const fn lba_out_of_range() -> Self {
        Self::new(Key::IllegalRequest, asc::LBA_OUT_OF_RANGE)
    }

    /// ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED.
    pub const fn lun_not_supported() -> Self {
        Self::new(Key::IllegalRequest, asc::LUN_NOT_SUPPORTED)
    }

    /// MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION, with the byte offset of
    /// the first miscompare in INFORMATION (SBC-4 5.3, 5.30).
    pub const fn miscompare(offset: u64) -> Self {
        Self::new(Key::Miscompare, asc::MISCOMPARE_DURING_VERIFY).with_info(offset)
    }

    /// DATA PROTECT, WRITE PROTECTED.
    pub const fn write_protected() -> Self {
        Self::new(Key::DataProtect, asc::WRITE_PROTECTED)
    }

    /// NOT READY, MEDIUM NOT PRESENT.
    pub const fn medium_not_present() -> Self {
        Self::new(Key::NotReady, asc::MEDIUM_NOT_PRESENT)
    }

    /// UNIT ATTENTION with the given code.
    pub const fn unit_attention(code: Asc) -> Self {
        Self::new(Key::UnitAttention, code)
    }

    /// ABORTED COMMAND, with the given code.
    pub const fn aborted(code: Asc) -> Self {
        Self::new(Key::AbortedCommand, code)
    }

    /// ABORTED COMMAND, INSUFFICIENT RESOURCES: memory ran out; the
    /// initiator may retry.
    pub const fn insufficient_resources() -> Self {
        Self::aborted(asc::INSUFFICIENT_RESOURCES)
    }

    /// HARDWARE ERROR, INTERNAL TARGET FAILURE.
    pub const fn internal_failure() -> Self {
        Self::new(Key::HardwareError, asc::INTERNAL_TARGET_FAILURE)
    }

    /// MEDIUM ERROR, WRITE ERROR.
    pub const fn write_error() -> Self {
        Self::new(Key::MediumError, asc::WRITE_ERROR)
    }

    /// MEDIUM ERROR, UNRECOVERED READ ERROR.
    pub const fn read_error() -> Self {
        Self::new(Key::MediumError, asc::UNRECOVERED_READ_ERROR)
    }

    /// Whether this is a UNIT ATTENTION condition.
    pub fn is_unit_attention(&self) -> bool {
        self.key == Key::UnitAttention
    }

    /// Encodes the sense data into `buf` and returns the number of bytes the
    /// full sense data takes (at most [`MAX_LEN`]); what does not fit in `buf`
    /// is dropped. `deferred` selects the deferred-error response codes.
    pub fn encode(&self, format: Format, deferred: bool, buf: &mut [u8]) -> usize {
        match format {
            Format::Fixed => self.encode_fixed(deferred, buf),
            Format::Descriptor => self.encode_descriptor(deferred, buf),
        }
    }

    fn encode_fixed(&self, deferred: bool, buf: &mut [u8]) -> usize {
        let mut b = [0u8; FIXED_LEN];
        b[0] = if deferred { 0x71 } else { 0x70 };
        // INFORMATION is four bytes in fixed format: VALID only if it fits.
        if let Some(info) = self.info {
            if let Ok(v) = u32::try_from(info) {
                b[0] |= 0x80;
                put_u32(&mut b, 3, v);
            }
        }
        b[2] = self.key as u8;
        if self.ili {
            b[2] |= 0x20;
        }
        b[7] = (FIXED_LEN - 8) as u8;
        if let Some(ci) = self.cmd_info {
            put_u32(&mut b, 8, ci as u32);
        }
        b[12] = self.asc.0;
        b[13] = self.asc.1;
        if let Some(s) = self.specific {
            b[15..18].copy_from_slice(&s.encode());
        }
        copy_out(buf, &b)
    }

    fn encode_descriptor(&self, deferred: bool, buf: &mut [u8]) -> usize {
        let mut b = [0u8; MAX_LEN];
        b[0] = if deferred { 0x73 } else { 0x72 };
        b[1] = self.key as u8;
        b[2] = self.asc.0;
        b[3] = self.asc.1;
        let mut pos = 8usize;
        if let Some(info) = self.info {
            // Information descriptor (SPC-4 4.5.2.2).
            b[pos] = 0x00;
            b[pos + 1] = 0x0a;
            b[pos + 2] = 0x80;
            put_u64(&mut b, pos + 4, info);
            pos += 12;
        }
        if let Some(ci) = self.cmd_info {
            // Command-specific information descriptor (SPC-4 4.5.2.3).
            b[pos] = 0x01;
            b[pos + 1] = 0x0a;
            put_u64(&mut b, pos + 4, ci);
            pos += 12;
        }
        if let Some(s) = self.specific {
            // Sense key specific descriptor (SPC-4 4.5.2.4).
            b[pos] = 0x02;
            b[pos + 1] = 0x06;
            b[pos + 4..pos + 7].copy_from_slice(&s.encode());
            pos += 8;
        }
        b[7] = (pos - 8) as u8;
        copy_out(buf, &b[..pos])
    }

    /// Decodes fixed or descriptor sense data; returns the condition and
    /// whether it was a deferred error, or `None` if `buf` is not sense data.
    pub fn decode(buf: &[u8]) -> Option<(Self, bool)> {
        let rc = get_u8(buf, 0) & 0x7f;
        match rc {
            0x70 | 0x71 => {
                if buf.len() < 14 {
                    return None;
                }
                let key = Key::from_u8(get_u8(buf, 2));
                let mut s = Sense::new(key, Asc(get_u8(buf, 12), get_u8(buf, 13)));
                if get_u8(buf, 0) & 0x80 != 0 {
                    s.info = Some(u64::from(get_u32(buf, 3)));
                }
                let ci = get_u32(buf, 8);
                if ci != 0 {
                    s.cmd_info = Some(u64::from(ci));
                }
                s.ili = get_u8(buf, 2) & 0x20 != 0;
                if buf.len() >= 18 {
                    s.specific =
                        Specific::decode(key, [get_u8(buf, 15), get_u8(buf, 16), get_u8(buf, 17)]);
                }
                Some((s, rc == 0x71))
            }
            0x72 | 0x73 => {
                if buf.len() < 8 {
                    return None;
                }
                let key = Key::from_u8(get_u8(buf, 1));
                let mut s = Sense::new(key, Asc(get_u8(buf, 2), get_u8(buf, 3)));
                let end = 8usize
                    .saturating_add(usize::from(get_u8(buf, 7)))
                    .min(buf.len());
                let mut pos = 8usize;
                while pos.saturating_add(2) <= end {
                    let ty = get_u8(buf, pos);
                    let len = usize::from(get_u8(buf, pos + 1));
                    let next = pos.saturating_add(2).saturating_add(len);
                    if next > end {
                        break;
                    }
                    match (ty, len) {
                        (0x00, 0x0a) if get_u8(buf, pos + 2) & 0x80 != 0 => {
                            s.info = Some(get_u64(buf, pos + 4));
                        }
                        (0x01, 0x0a) => s.cmd_info = Some(get_u64(buf, pos + 4)),
                        (0x02, 0x06) => {
                            s.specific = Specific::decode(
                                key,
                                [
                                    get_u8(buf, pos + 4),
                                    get_u8(buf, pos + 5),
                                    get_u8(buf, pos + 6),
                                ],
                            )
                        }
                        _ => {}
                    }
                    pos = next;
                }
                Some((s, rc == 0x73))
            }
            _ => None,
        }
    }
}

/// Copies `src` into `dst` as far as it fits and returns `src.len()`.
fn copy_out(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    src.len()
}

/// Builds the sense bytes of a fixed-format sense and returns `(bytes, len)`;
/// a convenience for code that keeps sense in a fixed array.
pub fn to_array(s: &Sense, format: Format) -> ([u8; MAX_LEN], usize) {
    let mut b = [0u8; MAX_LEN];
    let n = s.encode(format, false, &mut b);
    (b, n)
}

/// Reads the (key, ASC, ASCQ) triple from raw sense bytes, if they are sense data.
pub fn key_asc(buf: &[u8]) -> Option<(Key, Asc)> {
    Sense::decode(buf).map(|(s, _)| (s.key, s.asc))
}

/// Sets the field pointer of ILLEGAL REQUEST sense bytes already encoded in
/// fixed format (used when a later stage learns which field was wrong).
pub fn set_fixed_field_pointer(buf: &mut [u8], in_cdb: bool, byte: u16) {
    let mut b0 = 0x80;
    if in_cdb {
        b0 |= 0x40;
    }
    put_u8(buf, 15, b0);
    put_u16(buf, 16, byte);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_field_in_iu_encoding() {
        let mut b = [0u8; 18];
        let n = Sense::invalid_field_in_iu().encode(Format::Fixed, false, &mut b);
        assert_eq!(n, 18);
        assert_eq!((b[0], b[2], b[12], b[13]), (0x70, 0x05, 0x0e, 0x03));
    }

    #[test]
    fn fixed_invalid_field_layout() {
        let s = Sense::invalid_field_in_cdb(2, Some(5));
        let mut b = [0u8; 32];
        let n = s.encode(Format::Fixed, false, &mut b);
        assert_eq!(n, 18);
        assert_eq!(
            &b[..18],
            &[0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcd, 0x00, 0x02]
        );
    }

    #[test]
    fn fixed_info_valid_only_if_fits() {
        let mut b = [0u8; 18];
        Sense::miscompare(0x1234).encode(Format::Fixed, false, &mut b);
        assert_eq!(b[0], 0xf0);
        assert_eq!(&b[3..7], &[0, 0, 0x12, 0x34]);
        assert_eq!(b[2], 0x0e);
        Sense::miscompare(1 << 40).encode(Format::Fixed, false, &mut b);
        assert_eq!(b[0], 0x70);
    }

    #[test]
    fn descriptor_layout() {
        let s = Sense::miscompare(0x0102_0304_0506).with_specific(Specific::FieldPointer {
            in_cdb: false,
            byte: 7,
            bit: None,
        });
        let mut b = [0u8; 64];
        let n = s.encode(Format::Descriptor, false, &mut b);
        assert_eq!(n, 8 + 12 + 8);
        assert_eq!(&b[..8], &[0x72, 0x0e, 0x1d, 0x00, 0, 0, 0, 20]);
        assert_eq!(&b[8..20], &[0, 10, 0x80, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(&b[20..28], &[2, 6, 0, 0, 0x80, 0, 7, 0]);
    }

    #[test]
    fn deferred_codes() {
        let mut b = [0u8; 18];
        Sense::write_error().encode(Format::Fixed, true, &mut b);
        assert_eq!(b[0], 0x71);
        Sense::write_error().encode(Format::Descriptor, true, &mut b);
        assert_eq!(b[0], 0x73);
    }

    #[test]
    fn truncates_to_buffer() {
        let mut b = [0u8; 4];
        let n = Sense::lba_out_of_range().encode(Format::Fixed, false, &mut b);
        assert_eq!(n, 18);
        assert_eq!(b, [0x70, 0, 5, 0]);
    }

    #[test]
    fn round_trips() {
        let cases = [
            Sense::invalid_opcode(),
            Sense::invalid_field_in_param(300, Some(7)),
            Sense::miscompare(17),
            Sense::unit_attention(asc::POWER_ON_RESET),
            Sense::new(Key::NotReady, asc::FORMAT_IN_PROGRESS)
                .with_specific(Specific::Progress(999)),
            Sense::new(Key::CopyAborted, asc::COPY_TARGET_NOT_REACHABLE).with_cmd_info(3),
        ];
        for s in cases {
            for f in [Format::Fixed, Format::Descriptor] {
                let mut b = [0u8; MAX_LEN];
                let n = s.encode(f, false, &mut b);
                let (d, deferred) = Sense::decode(&b[..n]).unwrap();
                assert!(!deferred);
                assert_eq!(d, s, "{f:?}");
            }
        }
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(Sense::decode(&[]).is_none());
        assert!(Sense::decode(&[0x70, 0, 0]).is_none());
        assert!(Sense::decode(&[0x00; 18]).is_none());
        // A descriptor whose length runs past the end is ignored.
        let b = [0x72, 5, 0x24, 0, 0, 0, 0, 12, 0, 200, 0, 0];
        let (s, _) = Sense::decode(&b).unwrap();
        assert_eq!(s.info, None);
    }
}
