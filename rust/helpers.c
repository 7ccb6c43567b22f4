// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the scst_sys crate (see helpers.h). Exported: generic
 * scst_sys code is instantiated in the dependent modules too.
 */
#include <linux/export.h>
#include <linux/fs.h>
#include <linux/proc_fs.h>

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
