#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extra QEMU arguments for the test VM, one per line (tb_vm_start reads
# them).  Two modern virtio-net functions joined by a QEMU-internal hub,
# so no frame ever leaves the QEMU process:
#   NIC a  0000:00:10.0  52:54:00:76:70:0a  one doorbell page per queue:
#                        the vp_vdpa function (tests/cases/70-vp-vdpa.sh)
#   NIC b  0000:00:11.0  52:54:00:76:70:0b  the network peer (virtio_net)
#   NIC c  0000:81:00.0  52:54:00:76:70:0c  behind a PCIe expander bridge
#                        that bypasses the IOMMU: the function with no
#                        IOMMU (unsafe_noiommu_mode); packed=on: it offers
#                        VIRTIO_F_RING_PACKED (vp_vdpa's packed test)
#   NIC d  0000:00:12.0  52:54:00:76:70:0d  NIC c's network peer, on their
#                        own hub
# NIC a sits behind an emulated Intel IOMMU (q35 machine, 48-bit IOVAs so
# that process virtual addresses fit, as DPDK uses them), which Debian's
# kernel enables by default; the other devices do not use the IOMMU
# (virtio without iommu_platform bypasses it).
# The guest loads virtio_pci for its 9p root, so both bind to it, but no
# driver uses them until a test loads virtio_net (nothing is autoloaded:
# the guest runs no udevd but tests/cases/17-udev.sh's, which reads only
# our rule).

cat <<'ARGS'
-machine
q35
-device
intel-iommu,intremap=off,aw-bits=48
-netdev
hubport,id=vpa,hubid=1
-device
virtio-net-pci,netdev=vpa,addr=0x10,mac=52:54:00:76:70:0a,disable-legacy=on,page-per-vq=on,iommu_platform=on,romfile=
-netdev
hubport,id=vpb,hubid=1
-device
virtio-net-pci,netdev=vpb,addr=0x11,mac=52:54:00:76:70:0b,disable-legacy=on,romfile=
-device
pxb-pcie,id=pxb1,bus_nr=128,bus=pcie.0,bypass_iommu=on
-device
pcie-root-port,id=rpc,bus=pxb1,chassis=3
-netdev
hubport,id=vpc,hubid=2
-device
virtio-net-pci,netdev=vpc,bus=rpc,mac=52:54:00:76:70:0c,disable-legacy=on,packed=on,romfile=
-netdev
hubport,id=vpd,hubid=2
-device
virtio-net-pci,netdev=vpd,bus=pcie.0,addr=0x12,mac=52:54:00:76:70:0d,disable-legacy=on,romfile=
ARGS
