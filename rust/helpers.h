/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for inline functions and macros that bindgen cannot bind.
 * Each wraps exactly one kernel inline/macro and adds no logic.
 */
#ifndef SCST_RS_HELPERS_H
#define SCST_RS_HELPERS_H

struct inode;
struct file;

void *scst_helper_pde_data(const struct inode *inode);
struct inode *scst_helper_file_inode(const struct file *file);
long long scst_helper_file_size(struct file *file);
_Bool scst_helper_file_is_bdev(struct file *file);

#endif
