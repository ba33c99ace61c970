# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Many devices: dumps that span several netlink messages resume where they
# stopped, in the order the devices were added.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

SCALE_N=200
# shellcheck disable=SC2034 # read by the runner
TIMEOUT_200_devices=900

test_200_devices() {
	local i t0 t1 t2 t3 want

	mgmt_load
	t0=$(date +%s)
	# over one socket: `vdpa dev add` itself is taken by 11-dev and the
	# other 14-scale tests, and 200 program starts cost a minute in TCG
	expect_eq "$(vdpa_nl dev-new-many vdpa vdpasim_net $SCALE_N \
		--mac-base 52:54:00:00 | cut -d' ' -f1)" ok \
		"adding $SCALE_N devices"
	t1=$(date +%s)
	echo "added $SCALE_N devices in $((t1 - t0)) s"
	expect_eq "$(bus_count)" "$SCALE_N" "devices on the bus"

	want=$(seq 0 $((SCALE_N - 1)) | sed 's/^/vdpa/')
	capture vdpa -j dev show
	[ "$rc" -eq 0 ] || fail "vdpa -j dev show: $rc $err"
	expect_eq "$(printf '%s\n' "$out" | json_keys dev)" "$want" "dev dump (-j) names"
	capture vdpa dev show
	[ "$rc" -eq 0 ] || fail "vdpa dev show: $rc $err"
	expect_eq "$out" "$(for i in $(seq 0 $((SCALE_N - 1))); do dev_line vdpa$i; done)" "dev dump"

	capture vdpa -j dev config show
	[ "$rc" -eq 0 ] || fail "vdpa -j dev config show: $rc $err"
	expect_eq "$(printf '%s\n' "$out" | json_keys config)" "$want" "config dump (-j) names"
	capture vdpa dev config show
	[ "$rc" -eq 0 ] || fail "vdpa dev config show: $rc $err"
	expect_eq "$out" "$(for i in $(seq 0 $((SCALE_N - 1))); do
		printf 'vdpa%d: mac 52:54:00:00:%02x:%02x link up link_announce false mtu 1500 \n' \
			$i $((i / 256)) $((i % 256))
	done)" "config dump"
	# one device in the middle, by name
	expect_run 0 "vdpa137: mac 52:54:00:00:00:89 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show vdpa137
	t2=$(date +%s)
	echo "dumped in $((t2 - t1)) s"

	expect_eq "$(vdpa_nl dev-del-many vdpa $SCALE_N | cut -d' ' -f1)" ok \
		"deleting the $SCALE_N devices"
	t3=$(date +%s)
	echo "deleted $SCALE_N devices in $((t3 - t2)) s"
	expect_run 0 "" "" -- vdpa dev show
	expect_run 0 '{"config":{}}' "" -- vdpa -j dev config show
	expect_eq "$(bus_count)" "0" "devices on the bus after deleting all"
	# generous bound for TCG: seconds per device would be a bug
	[ $((t3 - t0)) -lt 400 ] || fail "$SCALE_N devices took $((t3 - t0)) s"
}

# Deleting in a different order than adding keeps the dump consistent.
test_interleaved() {
	local i want

	mgmt_load
	for i in $(seq 0 49); do
		vdpa dev add name d$i mgmtdev vdpasim_net
	done
	for i in $(seq 0 2 49); do
		vdpa dev del d$i
	done
	for i in $(seq 50 59); do
		vdpa dev add name d$i mgmtdev vdpasim_net
	done
	want=$( (seq 1 2 49; seq 50 59) | sed 's/^/d/')
	capture vdpa -j dev show
	expect_eq "$(printf '%s\n' "$out" | json_keys dev)" "$want" "dev dump after interleaved add/del"
	expect_eq "$(ls /sys/bus/vdpa/devices | sort)" "$(printf '%s\n' "$want" | sort)" "bus devices"
}

# Writers and readers at once: every add lands, dumps never fail, and of
# several adds of one name exactly one wins.
test_concurrent() {
	local p i pids=() rpid n ok

	mgmt_load
	for p in 0 1 2 3; do
		(
			for i in $(seq 0 24); do
				vdpa dev add name p${p}d$i mgmtdev vdpasim_net || exit 1
			done
		) &
		pids+=($!)
	done
	(
		for i in $(seq 15); do
			vdpa -j dev show >/dev/null || exit 1
			vdpa -j dev config show >/dev/null || exit 1
			vdpa mgmtdev show >/dev/null || exit 1
		done
	) &
	rpid=$!
	for p in "${pids[@]}"; do
		wait "$p" || fail "a writer failed"
	done
	wait "$rpid" || fail "a reader failed"
	expect_eq "$(bus_count)" "100" "devices after concurrent adds"
	capture vdpa -j dev show
	expect_eq "$(printf '%s\n' "$out" | json_keys dev | sort)" \
		"$(for p in 0 1 2 3; do for i in $(seq 0 24); do echo p${p}d$i; done; done | sort)" \
		"dumped names"

	for p in $(seq 8); do
		(
			rc=0
			vdpa dev add name same mgmtdev vdpasim_net 2>err.$p || rc=$?
			echo $rc >rc.$p
		) &
	done
	wait
	n=0
	ok=0
	for p in $(seq 8); do
		if [ "$(cat rc.$p)" = 0 ]; then
			ok=$((ok + 1))
			expect_eq "$(cat err.$p)" "" "stderr of the add that won"
		else
			expect_eq "$(cat err.$p)" "kernel answers: File exists" "stderr of a losing add"
			n=$((n + 1))
		fi
	done
	expect_eq "$ok/$n" "1/7" "winning/losing adds of one name"

	pids=()
	for p in 0 1 2 3; do
		(
			for i in $(seq 0 24); do
				vdpa dev del p${p}d$i || exit 1
			done
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "a deleter failed"
	done
	expect_run 0 "$(dev_line same)" "" -- vdpa dev show
}
