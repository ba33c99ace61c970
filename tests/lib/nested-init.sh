#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# busybox ash: checked as bash (local, read -t)
# shellcheck shell=bash
#
# /init of the nested guest that QEMU boots on a vhost-vdpa netdev (built
# into an initramfs by nested-initramfs.sh).  It brings up eth0 (a
# virtio-net NIC on a vdpasim_net device), then talks to the host over the
# serial console:
#
#   VT ready mac=M rxqueues=N cpus=N   eth0 is up; waits for a "go" line
#   VT phase NAME sent=N tx=N rx=N     one burst of traffic and how eth0's
#                                      tx_packets/rx_packets moved
#   VT done                            all phases ran; waits for "go",
#                                      then powers off
#   VT fail REASON                     something broke; powers off at once
#
# Phases (the simulator loops back frames to broadcast, multicast or its
# MAC and drops the rest):
#   bcast    arping -c COUNT (broadcast ARP requests): rx grows by sent
#   own      5 pings to a neighbour whose MAC is our own: rx grows by sent
#   foreign  5 pings to a neighbour with a foreign MAC: rx stays
#   pair1    (2 CPUs and 2 queue pairs) arping -c COUNT from CPU 1, so on
#            queue pair 1
# All but pair1 run on CPU 0 (queue pair 0).
#
# Kernel command line: vt.count=N (default 20), vt.foreign=MAC.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "VT $*"; }

die() {
	say "fail $*"
	poweroff -f
	sleep 60
}

# wait_go: wait for a "go" line from the host (at most 30 minutes)
wait_go() {
	local line

	while read -r -t 1800 line; do
		case $line in
		*go*) return 0 ;;
		esac
	done
	die "no go from the host"
}

count=20
foreign=02:00:00:00:00:99
for w in $(cat /proc/cmdline); do
	case $w in
	vt.count=*) count=${w#*=} ;;
	vt.foreign=*) foreign=${w#*=} ;;
	esac
done

while read -r m; do
	insmod "/mods/$m.ko" || die "insmod $m"
done </mods/order

i=0
while [ ! -e /sys/class/net/eth0 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "no eth0"
	sleep 0.2
done
mac=$(cat /sys/class/net/eth0/address)
ip link set eth0 up || die "ip link set eth0 up"
ip addr add 10.0.0.1/24 dev eth0 || die "ip addr add"
# permanent neighbours (busybox ip has no "neigh add")
arp -i eth0 -s 10.0.0.3 "$foreign" || die "arp -s foreign"
arp -i eth0 -s 10.0.0.4 "$mac" || die "arp -s own"
i=0
while [ "$(cat /sys/class/net/eth0/operstate)" != up ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "eth0 has no carrier"
	sleep 0.2
done
cpus=$(grep -c ^processor /proc/cpuinfo)
rxq=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)

say "ready mac=$mac rxqueues=$rxq cpus=$cpus"
wait_go

stats() {
	rx=$(cat /sys/class/net/eth0/statistics/rx_packets)
	tx=$(cat /sys/class/net/eth0/statistics/tx_packets)
}

# phase NAME CPU CMD...: run CMD on CPU, report what it sent and how the
# counters moved.  CMD prints "Sent N probe" (arping) or "N packets
# transmitted" (ping).
phase() {
	local name=$1 cpu=$2 rx0 tx0 sent

	shift 2
	stats
	rx0=$rx
	tx0=$tx
	taskset -c "$cpu" "$@" >/tmp/out 2>&1
	sleep 1
	stats
	sent=$(sed -n -e 's/^Sent \([0-9]*\) probe.*/\1/p' \
		-e 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/out)
	say "phase $name sent=${sent:-none} tx=$((tx - tx0)) rx=$((rx - rx0))"
}

phase bcast 0 arping -c "$count" -I eth0 10.0.0.2
phase own 0 ping -c 5 -W 1 10.0.0.4
phase foreign 0 ping -c 5 -W 1 10.0.0.3
if [ "$cpus" -ge 2 ] && [ "$rxq" -ge 2 ]; then
	phase pair1 1 arping -c "$count" -I eth0 10.0.0.2
fi
say "done"
wait_go
poweroff -f
