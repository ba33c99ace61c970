/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_ASM_BARRIER_H
#define _SHIM_ASM_BARRIER_H

/* Full barrier: orders earlier stores before later loads. */
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
/* Read barrier: earlier loads before later loads (and stores). */
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
/* Write barrier: earlier stores (and loads) before later stores. */
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#endif
