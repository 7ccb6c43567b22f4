// SPDX-License-Identifier: GPL-2.0

//! Basic SCSI types shared by the whole protocol library (SAM-5).

/// SAM status codes (SAM-5 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// GOOD.
    Good = 0x00,
    /// CHECK CONDITION: sense data describes the error.
    CheckCondition = 0x02,
    /// CONDITION MET (PRE-FETCH).
    ConditionMet = 0x04,
    /// BUSY.
    Busy = 0x08,
    /// RESERVATION CONFLICT.
    ReservationConflict = 0x18,
    /// TASK SET FULL.
    TaskSetFull = 0x28,
    /// ACA ACTIVE.
    AcaActive = 0x30,
    /// TASK ABORTED.
    TaskAborted = 0x40,
}

impl Status {
    /// Decodes a status byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x00 => Self::Good,
            0x02 => Self::CheckCondition,
            0x04 => Self::ConditionMet,
            0x08 => Self::Busy,
            0x18 => Self::ReservationConflict,
            0x28 => Self::TaskSetFull,
            0x30 => Self::AcaActive,
            0x40 => Self::TaskAborted,
            _ => return None,
        })
    }
}

/// Direction of a command's data transfer, seen from the initiator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataDirection {
    /// No data.
    None,
    /// Data-Out: initiator to target (WRITE).
    Write,
    /// Data-In: target to initiator (READ).
    Read,
    /// Both directions (XDWRITEREAD, bidirectional commands).
    Bidi,
}

/// Peripheral device type (SPC-4 table 49).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PeripheralType {
    /// Direct-access block device (SBC).
    Disk = 0x00,
    /// Sequential-access device (SSC, tape).
    Tape = 0x01,
    /// Printer.
    Printer = 0x02,
    /// Processor device.
    Processor = 0x03,
    /// Write-once device.
    Worm = 0x04,
    /// CD/DVD device (MMC).
    Cdrom = 0x05,
    /// Optical memory device.
    OpticalMemory = 0x07,
    /// Medium changer (SMC).
    Changer = 0x08,
    /// Storage array controller (SCC).
    Raid = 0x0c,
    /// Enclosure services device (SES).
    Enclosure = 0x0d,
    /// Unknown or no device type (also used for "no LU" INQUIRY data).
    Unknown = 0x1f,
}

impl PeripheralType {
    /// Decodes a peripheral device type.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x00 => Self::Disk,
            0x01 => Self::Tape,
            0x02 => Self::Printer,
            0x03 => Self::Processor,
            0x04 => Self::Worm,
            0x05 => Self::Cdrom,
            0x07 => Self::OpticalMemory,
            0x08 => Self::Changer,
            0x0c => Self::Raid,
            0x0d => Self::Enclosure,
            0x1f => Self::Unknown,
            _ => return None,
        })
    }

    /// The description SCST prints in `/proc/scsi_tgt/<handler>/type`.
    pub fn description(self) -> &'static str {
        match self {
            Self::Disk => "Direct-access device (e.g., magnetic disk)",
            Self::Tape => "Sequential-access device (e.g., magnetic tape)",
            Self::Printer => "Printer device",
            Self::Processor => "Processor device",
            Self::Worm => "Write-once device (e.g., some optical disks)",
            Self::Cdrom => "CD-ROM device",
            Self::OpticalMemory => "Optical memory device (e.g., some optical disks)",
            Self::Changer => "Medium changer device (e.g., jukeboxes)",
            Self::Raid => "Storage array controller device (e.g., RAID)",
            Self::Enclosure => "Enclosure services device",
            Self::Unknown => "Unknown or no device type",
        }
    }
}

/// Task attribute of a command (SAM-5 8.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskAttr {
    /// SIMPLE (also used for untagged commands).
    Simple,
    /// ORDERED.
    Ordered,
    /// HEAD OF QUEUE.
    HeadOfQueue,
    /// ACA.
    Aca,
}

/// Task management functions (SAM-5 7), with SCST's internal additions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TmFunction {
    /// ABORT TASK.
    AbortTask,
    /// ABORT TASK SET.
    AbortTaskSet,
    /// CLEAR ACA.
    ClearAca,
    /// CLEAR TASK SET.
    ClearTaskSet,
    /// LOGICAL UNIT RESET.
    LunReset,
    /// TARGET RESET (SCST: every LU visible in the session's group).
    TargetReset,
    /// I_T NEXUS RESET / loss of one session.
    NexusLossSess,
    /// Abort all tasks of one session.
    AbortAllTasksSess,
    /// Nexus loss for every session of a target.
    NexusLoss,
    /// Abort all tasks of every session of a target.
    AbortAllTasks,
    /// QUERY TASK.
    QueryTask,
    /// QUERY TASK SET.
    QueryTaskSet,
    /// QUERY ASYNCHRONOUS EVENT.
    QueryAsyncEvent,
}

/// Result of a task management function (SAM-5 7.1, values as in SCST/iSCSI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TmResponse {
    /// FUNCTION COMPLETE.
    Complete,
    /// FUNCTION SUCCEEDED (QUERY found a task / event).
    Succeeded,
    /// The referenced task does not exist.
    TaskNotExist,
    /// The referenced LU does not exist.
    LunNotExist,
    /// FUNCTION NOT SUPPORTED.
    NotSupported,
    /// FUNCTION REJECTED.
    Rejected,
    /// The function failed.
    Failed,
}
