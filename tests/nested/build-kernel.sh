#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the small guest kernel of the nested QEMU tests and print
# its cache directory: tests/debug/build-kernel.sh --config
# tests/nested/nested.config, so the same cache, key and lock as the
# debug kernel (${VDPA_DEBUG_CACHE:-/var/cache/vdpa-debug-kernel}/KEY/),
# with vmlinux (PVH entry point, what QEMU boots) beside bzImage.
#
#   tests/nested/build-kernel.sh [--jobs N] [--force]

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P) || exit 1
exec "$here/../debug/build-kernel.sh" --config "$here/nested.config" "$@"
