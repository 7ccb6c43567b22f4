// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the scst_sys crate (see helpers.h).
 */
#include <linux/fs.h>
#include <linux/proc_fs.h>

#include "helpers.h"

void *scst_helper_pde_data(const struct inode *inode)
{
	return pde_data(inode);
}

struct inode *scst_helper_file_inode(const struct file *file)
{
	return file_inode(file);
}
