# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the vDPA subsystem.
#
#   make                build every module against KDIR
#   make check          build, boot a QEMU test VM and run the test suite
#   make run            demo: a vdpasim_net device driven by the real tools
#   make check-debug    the suite on a debug kernel (KASAN, lockdep, KUnit),
#                       minus the client tests left to check-full
#   make check-full     make check, then every test on the debug kernel
#                       (.ci/run --full); CI runs .ci/run
#   make fuzz OPS=N     a longer seeded fuzz run on the debug kernel
#   make coverage       check-debug plus a fuzz pass with gcov counters in
#                       our modules: line and branch coverage per file
#   make KDIR=/path     build against another kernel tree
#   make BUILD_DIR=dir  build in dir, not in the source tree (one per
#                       kernel lets builds for several kernels run at once;
#                       also for install, uninstall and clean)
#   make install        install the modules into updates/ of KDIR's kernel,
#                       then depmod (INSTALL_MOD_PATH=/dir: a staging root;
#                       NO_BUILD=1: install what is built, do not make;
#                       SIGN_KEY=K SIGN_CERT=C: sign them with your key)
#                       and the modprobe.d check against another vDPA core
#                       (scripts/modprobe-setup.sh)
#   make uninstall      remove what make install installed, then depmod
#   make install-udev   optional: /dev/vhost-vdpa-* to group kvm (udev/)
#   make version        print the version (include/linux/vdpa_version.h)
#   make modules-list   every module the tree builds, as DIR/NAME
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
	CONFIG_VDPA_SIM_BLK=m CONFIG_VP_VDPA=m CONFIG_VHOST_VDPA=m \
	CONFIG_VIRTIO_VDPA=m CONFIG_VDPA_USER=m

# BUILD_DIR: where kbuild writes the objects and .ko files; the source
# tree itself when unset.  scripts/build-tree.sh makes it a mirror of the
# sources (kbuild of 6.1 builds an external module where its sources are).
BUILD_DIR ?=
MOD_DIR := $(if $(BUILD_DIR),$(abspath $(BUILD_DIR)),$(PWD))

KBUILD_ARGS := -C $(KDIR) M=$(MOD_DIR) W=$(W) $(VDPA_CONFIGS)

.PHONY: all modules clean check check-debug check-full fuzz coverage run bench tools help install uninstall \
	install-udev uninstall-udev version modules-list

all: modules tools

modules:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build tree found: install linux-headers-amd64 or pass KDIR=" >&2; \
		exit 1; }
ifneq ($(BUILD_DIR),)
	./scripts/build-tree.sh $(MOD_DIR)
endif
	$(MAKE) $(KBUILD_ARGS) modules

tools:
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi
	@if [ -f tools/testing/fuzz/Makefile ]; then $(MAKE) -C tools/testing/fuzz; fi

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ] && [ -d "$(MOD_DIR)" ]; then \
		$(MAKE) $(KBUILD_ARGS) clean; fi
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	@if [ -f tools/testing/fuzz/Makefile ]; then $(MAKE) -C tools/testing/fuzz clean; fi
	rm -rf tests/.build

# --tests REGEX for the test scripts.  A regex is taken as written: a
# command-line variable is expanded again by make, which would eat the
# "$" of an anchor ("foo$|bar" became "foobar" and selected nothing).
tests_arg = $(if $(value TESTS),--tests '$(subst ','\'',$(value TESTS))')

check:
	./tests/check.sh $(tests_arg)

run:
	./tests/run-demo.sh $(if $(HOST),--host)

bench:
	./tests/check.sh --bench $(tests_arg)

# The same suite on a debug kernel (KASAN, lockdep, kmemleak, KUnit, fault
# injection) built once from Debian's linux-source and cached; see
# Documentation/testing.rst.
check-debug:
	./tests/check-debug.sh $(if $(FULL),--full) $(tests_arg)

# What CI runs, with every test on the debug kernel too (FULL=1).
check-full:
	./.ci/run --full

fuzz:
	./tests/check-debug.sh --fuzz $(or $(OPS),100000)

# Line and branch coverage of our modules (gcov) over the check-debug suite
# and a fuzz pass of OPS operations (default 20000).
coverage:
	$(if $(OPS),FUZZ_OPS=$(OPS)) ./tests/check-debug.sh --coverage \
		$(tests_arg)

help:
	@sed -n '3,31p' Makefile

# The one definition of the version is in include/linux/vdpa_version.h.
VDPA_VERSION := $(shell sed -n 's/^\#define VDPA_VERSION "\(.*\)"$$/\1/p' \
	include/linux/vdpa_version.h)

version:
	@echo $(VDPA_VERSION)

modules-list:
	@printf '%s\n' $(VDPA_MODULE_LIST)

# make install / uninstall.  The modules go to updates/ (INSTALL_MOD_DIR),
# which depmod ranks above the kernel's own tree, so they win over any
# in-tree module of the same name.  KERNELRELEASE of KDIR, not uname -r:
# installing for a named kernel is `make install KDIR=...`.
INSTALL_MOD_DIR ?= updates
DEPMOD ?= /sbin/depmod
INSTALL_KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
INSTALL_DIR = $(INSTALL_MOD_PATH)/lib/modules/$(INSTALL_KVER)/$(INSTALL_MOD_DIR)
# Every module of the tree as DIR/NAME, found from the Kbuild files and
# VDPA_CONFIGS (`make modules-list`; dkms.conf uses it too): a new module
# needs no edit here.
VDPA_MODULE_LIST = $(shell ./scripts/modules-list.sh $(VDPA_CONFIGS))
DEPMOD_ARGS = $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(INSTALL_KVER)

# Distro headers ask modules_install to sign with the kernel's own key,
# which they do not ship (Debian: SSL errors, unsigned modules): that is
# turned off, and SIGN_KEY=KEY SIGN_CERT=CERT signs what was installed with
# a key of yours instead (e.g. dkms' /var/lib/dkms/mok.key and mok.pub),
# for Secure Boot.
SIGN_FILE ?= $(KDIR)/scripts/sign-file
SIGN_HASH ?= sha256

install: $(if $(NO_BUILD),,modules)
	@test -n "$(INSTALL_KVER)" || { \
		echo "Cannot read the release of $(KDIR)" >&2; exit 1; }
	$(MAKE) $(KBUILD_ARGS) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		CONFIG_MODULE_SIG_ALL= modules_install
ifneq ($(SIGN_KEY),)
	@test -n "$(SIGN_CERT)" || { echo "SIGN_KEY needs SIGN_CERT" >&2; exit 1; }
	set -e; for m in $(VDPA_MODULE_LIST); do \
		$(SIGN_FILE) $(SIGN_HASH) $(SIGN_KEY) $(SIGN_CERT) \
			$(INSTALL_DIR)/$$m.ko; done
endif
	$(DEPMOD) $(DEPMOD_ARGS)
	./scripts/modprobe-setup.sh install $(INSTALL_MOD_PATH)

uninstall:
	@test -n "$(INSTALL_KVER)" || { \
		echo "Cannot read the release of $(KDIR)" >&2; exit 1; }
	rm -f $(foreach m,$(VDPA_MODULE_LIST),$(wildcard $(INSTALL_DIR)/$(m).ko*))
	-cd $(INSTALL_DIR) 2>/dev/null && rmdir -p --ignore-fail-on-non-empty \
		$(sort $(dir $(VDPA_MODULE_LIST))) 2>/dev/null
	$(DEPMOD) $(DEPMOD_ARGS)
	./scripts/modprobe-setup.sh remove $(INSTALL_MOD_PATH)

UDEV_RULES_DIR ?= /etc/udev/rules.d

install-udev:
	install -D -m 0644 udev/60-vhost-vdpa.rules \
		$(DESTDIR)$(UDEV_RULES_DIR)/60-vhost-vdpa.rules

uninstall-udev:
	rm -f $(DESTDIR)$(UDEV_RULES_DIR)/60-vhost-vdpa.rules
