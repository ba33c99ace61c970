/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that defines the version of this out-of-tree vDPA
 * subsystem.  The top Makefile, dkms.conf and MODULE_VERSION() of every
 * module read it from here; `modinfo vdpa` shows it.
 */
#ifndef _LINUX_VDPA_VERSION_H
#define _LINUX_VDPA_VERSION_H

#define VDPA_VERSION "0.1.0"

#endif /* _LINUX_VDPA_VERSION_H */
