#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# busybox ash: checked as bash (local, read -t)
# shellcheck shell=bash
#
# /init of the nested guest that QEMU boots on vhost-vdpa netdevs (built
# into an initramfs by nested-initramfs.sh).  It brings up its virtio-net
# NICs (each on a vdpasim_net device), then talks to the host over the
# serial console:
#
#   VT nic IFACE mac=M rxqueues=N      one line per NIC, before "ready"
#   VT dmesg +SECS LINE                (vt.slow=SECS) a kernel log line that
#                                      came SECS after the one before it
#   VT ready mac=M rxqueues=N cpus=N nics=N up=T0,T1,T2
#                                      eth0's MAC and RX queues; all NICs
#                                      are up; uptimes at /init, after the
#                                      modules, now; waits for a "go" line
#   VT phase NAME sent=N tx=N rx=N nic=IFACE t=UPTIME
#                                      one burst of traffic on IFACE and
#                                      how its tx_packets/rx_packets moved
#   VT done round=R                    all phases of round R ran; waits
#                                      for "go", then runs the next round
#                                      or, after the last, powers off
#                                      (reboots with acpi=off: QEMU needs
#                                      -no-reboot)
#   VT fail REASON                     something broke; powers off at once
#
# Phases, on every NIC (the simulator loops back frames to broadcast,
# multicast or its MAC and drops the rest):
#   bcast    COUNT broadcast ARP requests (arping): rx grows by sent
#   own      5 pings to a neighbour whose MAC is our own: rx grows by sent
#   foreign  5 pings to a neighbour with a foreign MAC: rx stays
#   pair1    (2 CPUs and 2 queue pairs) COUNT ARP requests from CPU 1, so
#            on queue pair 1
# All but pair1 run on CPU 0 (queue pair 0).  The NICs run their phases
# at the same time, each NIC's phases one after the other.
#
# Kernel command line: vt.count=N (default 20), vt.foreign=MAC,
# vt.nics=N (default 1: wait for eth0 .. eth<N-1>), vt.slow=SECS (report
# the kernel log's gaps over SECS seconds; default 0: off), vt.rounds=N
# (default 1: the phases run N times, a "go" before each; a live
# migration test moves the guest between two rounds).

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
read -r up0 _ </proc/uptime
# Few processes from here on: under TCG inside TCG each one costs
# seconds.  Shell builtins read the files and wait.
mkfifo /tmp/nap

# nap SECS: sleep without a process (nobody writes the fifo)
nap() { read -r -t "$1" _ <>/tmp/nap; }

say() { echo "VT $*"; }

# off: power off; with acpi=off the kernel cannot, a reboot makes QEMU
# (-no-reboot) exit instead
off() {
	if [ -d /sys/firmware/acpi ]; then
		poweroff -f
	else
		reboot -f
	fi
	sleep 60
}

die() {
	say "fail $*"
	off
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
nics=1
slow=0
rounds=1
read -r cmdline </proc/cmdline
for w in $cmdline; do
	case $w in
	vt.count=*) count=${w#*=} ;;
	vt.foreign=*) foreign=${w#*=} ;;
	vt.nics=*) nics=${w#*=} ;;
	vt.slow=*) slow=${w#*=} ;;
	vt.rounds=*) rounds=${w#*=} ;;
	esac
done

while read -r m; do
	insmod "/mods/$m.ko" || die "insmod $m"
done </mods/order
read -r up1 _ </proc/uptime

i=0
while [ ! -e "/sys/class/net/eth$((nics - 1))" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "no eth$((nics - 1))"
	nap 0.2
done
# NIC k is eth<k> on 10.0.k.1/24; 10.0.k.3 is a neighbour with a foreign
# MAC, 10.0.k.4 one with our own (busybox ip has no "neigh add")
k=0
while [ $k -lt "$nics" ]; do
	dev=eth$k
	read -r mac <"/sys/class/net/$dev/address"
	ip link set "$dev" up || die "ip link set $dev up"
	ip addr add "10.0.$k.1/24" dev "$dev" || die "ip addr add $dev"
	arp -i "$dev" -s "10.0.$k.3" "$foreign" || die "arp -s foreign $dev"
	arp -i "$dev" -s "10.0.$k.4" "$mac" || die "arp -s own $dev"
	k=$((k + 1))
done
set -- /sys/devices/system/cpu/cpu[0-9]*
cpus=$#
k=0
while [ $k -lt "$nics" ]; do
	dev=eth$k
	i=0
	while read -r st <"/sys/class/net/$dev/operstate" && [ "$st" != up ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || die "$dev has no carrier"
		nap 0.2
	done
	set -- "/sys/class/net/$dev/queues/"rx-*
	rxq=$#
	read -r mac <"/sys/class/net/$dev/address"
	[ "$k" -ne 0 ] || { mac0=$mac; rxq0=$rxq; }
	say "nic $dev mac=$mac rxqueues=$rxq"
	k=$((k + 1))
done
read -r up2 _ </proc/uptime
# vt.slow=SECS: where the boot spent its time (the kernel's log is kept
# even with "quiet"): lines that came SECS after the one before, /init
if [ "$slow" != 0 ]; then
	dmesg | awk -v s="$slow" '{ t = substr($0, 2, index($0, "]") - 2) + 0 }
		t - p > s || /Run .init/ { printf "VT dmesg +%.1f %s\n", t - p, $0 }
		{ p = t }'
fi

say "ready mac=$mac0 rxqueues=$rxq0 cpus=$cpus nics=$nics up=$up0,$up1,$up2"
wait_go

# now VAR: the uptime into VAR
now() { read -r "$1" _ </proc/uptime; }

# burst DEV DST: COUNT ARP requests to DST.  busybox arping sends one a
# second, so two or more run at once, 10 requests each.
burst() {
	local left=$count n j=0

	while [ $left -gt 0 ]; do
		n=10
		[ $left -ge 10 ] || n=$left
		arping -c $n -I "$1" "$2" >"/tmp/$1.arp.$j" 2>&1 &
		left=$((left - n))
		j=$((j + 1))
	done
	wait
	for n in "/tmp/$1.arp."*; do
		while read -r j; do
			echo "$j"
		done <"$n"
	done
}

# phase NAME DEV CMD...: run CMD, report what it sent and how DEV's
# counters moved.  CMD prints "Sent N probe" (arping, maybe several
# lines) or "N packets transmitted" (ping).
phase() {
	local name=$1 dev=$2 rx0 tx0 rx tx sent=0 a b t

	shift 2
	read -r rx0 <"/sys/class/net/$dev/statistics/rx_packets"
	read -r tx0 <"/sys/class/net/$dev/statistics/tx_packets"
	"$@" >"/tmp/$dev.out" 2>&1
	nap 1
	read -r rx <"/sys/class/net/$dev/statistics/rx_packets"
	read -r tx <"/sys/class/net/$dev/statistics/tx_packets"
	while read -r a b _; do
		case "$a $b" in
		Sent\ [0-9]*) sent=$((sent + b)) ;;
		[0-9]*\ packets) sent=$((sent + a)) ;;
		esac
	done <"/tmp/$dev.out"
	[ "$sent" -gt 0 ] || sent=none
	now t
	say "phase $name sent=$sent tx=$((tx - tx0)) rx=$((rx - rx0)) nic=$dev t=$t"
}

# phases K: every phase on eth<K>; pair1 moves this subshell to CPU 1
phases() {
	local dev=eth$1 net=10.0.$1 pid

	phase bcast "$dev" burst "$dev" "$net.2"
	phase own "$dev" ping -c 5 -i 0.2 -W 1 "$net.4"
	phase foreign "$dev" ping -c 5 -i 0.2 -W 1 "$net.3"
	set -- "/sys/class/net/$dev/queues/"rx-*
	if [ "$cpus" -ge 2 ] && [ $# -ge 2 ]; then
		read -r pid _ </proc/self/stat
		taskset -p -c 1 "$pid" >/dev/null || die "taskset $pid"
		phase pair1 "$dev" burst "$dev" "$net.2"
	fi
}

# queue pair 0 for all but pair1
taskset -p -c 0 $$ >/dev/null || die "taskset $$"
round=1
while :; do
	k=0
	while [ $k -lt "$nics" ]; do
		phases "$k" &
		k=$((k + 1))
	done
	wait
	say "done round=$round"
	wait_go
	[ $round -lt "$rounds" ] || break
	round=$((round + 1))
done
off
