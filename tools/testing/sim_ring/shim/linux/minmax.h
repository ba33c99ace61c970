/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_MINMAX_H
#define _SHIM_LINUX_MINMAX_H

/* Each argument evaluated once, as the kernel's. */
#define min(a, b) ({				\
	__typeof__(a) __min_a = (a);		\
	__typeof__(b) __min_b = (b);		\
	__min_a < __min_b ? __min_a : __min_b;	\
})
#define min_t(type, a, b) min((type)(a), (type)(b))
#define max(a, b) ({				\
	__typeof__(a) __max_a = (a);		\
	__typeof__(b) __max_b = (b);		\
	__max_a > __max_b ? __max_a : __max_b;	\
})

#endif
