/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel APIs that scst-rs needs and the `kernel` crate of Linux 7.3 does not
 * bind. bindgen runs on this header at build time with the kernel's own C
 * flags (see Kbuild), so layouts always match the kernel being built against.
 * Only the items allowlisted in Kbuild are generated; everything else is
 * taken from `kernel::bindings`.
 */
#include <linux/crc32.h>
#include <linux/device.h>
#include <linux/falloc.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/numa.h>
#include <linux/proc_fs.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "helpers.h"
