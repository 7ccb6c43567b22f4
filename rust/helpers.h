/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for inline functions and macros that bindgen cannot bind.
 * Each wraps exactly one kernel inline/macro and adds no logic.
 */
#ifndef SCST_RS_HELPERS_H
#define SCST_RS_HELPERS_H

struct inode;
struct file;
struct scsi_cmnd;
struct scatterlist;
struct Scsi_Host;
struct device;

void *scst_helper_pde_data(const struct inode *inode);
struct inode *scst_helper_file_inode(const struct file *file);
long long scst_helper_file_size(struct file *file);
_Bool scst_helper_file_is_bdev(struct file *file);

void *scst_helper_scsi_cmd_priv(struct scsi_cmnd *cmd);
struct scatterlist *scst_helper_scsi_sglist(struct scsi_cmnd *cmd);
unsigned int scst_helper_scsi_sg_count(struct scsi_cmnd *cmd);
unsigned int scst_helper_scsi_bufflen(struct scsi_cmnd *cmd);
void scst_helper_scsi_set_resid(struct scsi_cmnd *cmd, unsigned int resid);
unsigned int scst_helper_scsi_tag(struct scsi_cmnd *cmd);
void *scst_helper_shost_priv(struct Scsi_Host *shost);
int scst_helper_scsi_add_host(struct Scsi_Host *shost, struct device *dev);

_Bool scst_helper_cpu_online(unsigned int cpu);

struct page;
struct block_device;
struct page *scst_helper_virt_to_page(const void *addr);
void scst_helper_flush_kernel_vmap_range(void *addr, int size);
void scst_helper_invalidate_kernel_vmap_range(void *addr, int size);
long long scst_helper_bdev_nr_bytes(struct block_device *bdev);
unsigned int scst_helper_bdev_logical_block_size(struct block_device *bdev);
unsigned int scst_helper_blk_mode(_Bool write);
unsigned long long scst_helper_totalram_bytes(void);

struct socket;
void scst_helper_sock_set_rcvtimeo(struct socket *sock, long timeo);

#endif
