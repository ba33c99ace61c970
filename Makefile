# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the vDPA subsystem.
#
#   make                build every module against KDIR
#   make check          build, boot a QEMU test VM and run the test suite
#   make run            demo: a vdpasim_net device driven by the real tools
#   make KDIR=/path     build against another kernel tree
#
# KDIR defaults to the running kernel's build tree when it exists, else to
# the newest installed Debian kernel headers.

KVER_RUNNING := $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER_RUNNING)/build) \
	$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))
W ?= 1
PWD := $(shell pwd)

# Every module of the tree; Kconfig describes the same options for an
# in-tree build.
VDPA_CONFIGS := CONFIG_VDPA=m CONFIG_VDPA_SIM=m CONFIG_VDPA_SIM_NET=m \
	CONFIG_VHOST_VDPA=m

KBUILD_ARGS := -C $(KDIR) M=$(PWD) W=$(W) $(VDPA_CONFIGS)

.PHONY: all modules clean check run bench tools help

all: modules tools

modules:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build tree found: install linux-headers-amd64 or pass KDIR=" >&2; \
		exit 1; }
	$(MAKE) $(KBUILD_ARGS) modules

tools:
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) $(KBUILD_ARGS) clean; fi
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	rm -rf tests/.build

check:
	./tests/check.sh $(if $(TESTS),--tests '$(TESTS)')

run:
	./tests/run-demo.sh $(if $(HOST),--host)

bench:
	./tests/check.sh --bench $(if $(TESTS),--tests '$(TESTS)')

help:
	@sed -n '3,12p' Makefile
