/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_EXPORT_H
#define _SHIM_LINUX_EXPORT_H

/* Expands to a declaration so that the trailing semicolon stays legal. */
#define EXPORT_SYMBOL_GPL(sym) extern int shim_export_dummy

#endif
