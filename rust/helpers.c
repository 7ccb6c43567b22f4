// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the scst_sys crate (see helpers.h). Exported: generic
 * scst_sys code is instantiated in the dependent modules too.
 */
#include <linux/export.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/proc_fs.h>
#include <linux/net.h>
#include <net/sock.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_host.h>

#include "helpers.h"

void *scst_helper_pde_data(const struct inode *inode)
{
	return pde_data(inode);
}
EXPORT_SYMBOL_GPL(scst_helper_pde_data);

struct inode *scst_helper_file_inode(const struct file *file)
{
	return file_inode(file);
}
EXPORT_SYMBOL_GPL(scst_helper_file_inode);

long long scst_helper_file_size(struct file *file)
{
	return i_size_read(file->f_mapping->host);
}
EXPORT_SYMBOL_GPL(scst_helper_file_size);

_Bool scst_helper_file_is_bdev(struct file *file)
{
	return S_ISBLK(file_inode(file)->i_mode);
}
EXPORT_SYMBOL_GPL(scst_helper_file_is_bdev);

void *scst_helper_scsi_cmd_priv(struct scsi_cmnd *cmd)
{
	return scsi_cmd_priv(cmd);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_cmd_priv);

struct scatterlist *scst_helper_scsi_sglist(struct scsi_cmnd *cmd)
{
	return scsi_sglist(cmd);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_sglist);

unsigned int scst_helper_scsi_sg_count(struct scsi_cmnd *cmd)
{
	return scsi_sg_count(cmd);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_sg_count);

unsigned int scst_helper_scsi_bufflen(struct scsi_cmnd *cmd)
{
	return scsi_bufflen(cmd);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_bufflen);

void scst_helper_scsi_set_resid(struct scsi_cmnd *cmd, unsigned int resid)
{
	scsi_set_resid(cmd, resid);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_set_resid);

unsigned int scst_helper_scsi_tag(struct scsi_cmnd *cmd)
{
	return blk_mq_unique_tag(scsi_cmd_to_rq(cmd));
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_tag);

void *scst_helper_shost_priv(struct Scsi_Host *shost)
{
	return shost_priv(shost);
}
EXPORT_SYMBOL_GPL(scst_helper_shost_priv);

int scst_helper_scsi_add_host(struct Scsi_Host *shost, struct device *dev)
{
	return scsi_add_host(shost, dev);
}
EXPORT_SYMBOL_GPL(scst_helper_scsi_add_host);

bool scst_helper_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}
EXPORT_SYMBOL_GPL(scst_helper_cpu_online);

void scst_helper_sock_set_rcvtimeo(struct socket *sock, long timeo)
{
	WRITE_ONCE(sock->sk->sk_rcvtimeo, timeo);
}
EXPORT_SYMBOL_GPL(scst_helper_sock_set_rcvtimeo);

struct page *scst_helper_virt_to_page(const void *addr)
{
	return virt_to_page(addr);
}
EXPORT_SYMBOL_GPL(scst_helper_virt_to_page);

void scst_helper_flush_kernel_vmap_range(void *addr, int size)
{
	flush_kernel_vmap_range(addr, size);
}
EXPORT_SYMBOL_GPL(scst_helper_flush_kernel_vmap_range);

void scst_helper_invalidate_kernel_vmap_range(void *addr, int size)
{
	invalidate_kernel_vmap_range(addr, size);
}
EXPORT_SYMBOL_GPL(scst_helper_invalidate_kernel_vmap_range);

long long scst_helper_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}
EXPORT_SYMBOL_GPL(scst_helper_bdev_nr_bytes);

unsigned int scst_helper_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}
EXPORT_SYMBOL_GPL(scst_helper_bdev_logical_block_size);

unsigned int scst_helper_blk_mode(bool write)
{
	return (__force unsigned int)(write ? BLK_OPEN_READ | BLK_OPEN_WRITE : BLK_OPEN_READ);
}
EXPORT_SYMBOL_GPL(scst_helper_blk_mode);

unsigned long long scst_helper_totalram_bytes(void)
{
	return (unsigned long long)totalram_pages() << PAGE_SHIFT;
}
EXPORT_SYMBOL_GPL(scst_helper_totalram_bytes);
