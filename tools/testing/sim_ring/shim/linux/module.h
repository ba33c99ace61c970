/* SPDX-License-Identifier: GPL-2.0 */
/* Nothing needed on the host: the stand-ins are in kunit/test.h. */
