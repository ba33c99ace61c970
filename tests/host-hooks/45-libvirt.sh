#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of tests/cases/45-libvirt.sh: its guest boots the small guest
# kernel, which tests/host-hooks/40-qemu.sh builds (or finds cached).
exec "$(dirname "${BASH_SOURCE[0]}")/40-qemu.sh" "$@"
