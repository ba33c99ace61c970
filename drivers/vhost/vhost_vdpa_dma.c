// SPDX-License-Identifier: GPL-2.0
/* placeholder: IOTLB/DMA part of vhost-vdpa */
