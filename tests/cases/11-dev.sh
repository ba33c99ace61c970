# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Creating, showing and deleting vdpasim_net devices with the real
# iproute2 6.1 `vdpa` (CLIENTS.md §4, ABI.md §3.2-3.4, §5.2).

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

test_add_show_del() {
	mgmt_load
	expect_run 0 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show vdpa0
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev list vdpa0
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev
	expect_run 0 '{"dev":{"vdpa0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}' "" \
		-- vdpa -j dev show
	expect_run 0 '{"dev":{"vdpa0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}' "" \
		-- vdpa -j dev show vdpa0
	expect_run 0 "" "" -- vdpa dev del vdpa0
	expect_run 0 "" "" -- vdpa dev show
	expect_run 0 '{"dev":{}}' "" -- vdpa -j dev show
	expect_run 1 "" "Error: vdpa: device not found.
kernel answers: No such device" -- vdpa dev show vdpa0
}

# Defaults: zero MAC (F_MAC is offered, so it is printed), link up
# (F_STATUS), no max_vq_pairs (no F_MQ), MTU 1500.
test_config_default() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 0 "vdpa0: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show vdpa0
	expect_run 0 "vdpa0: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show
	expect_run 0 "vdpa0: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config
	expect_run 0 '{"config":{"vdpa0":{"mac":"00:00:00:00:00:00","link ":"up","link_announce ":false,"mtu":1500}}}' "" \
		-- vdpa -j dev config show vdpa0
	expect_run 0 '{"config":{"vdpa0":{"mac":"00:00:00:00:00:00","link ":"up","link_announce ":false,"mtu":1500}}}' "" \
		-- vdpa -j dev config show
	vdpa dev del vdpa0
	expect_run 0 "" "" -- vdpa dev config show
	expect_run 1 "" "Error: vdpa: device not found.
kernel answers: No such device" -- vdpa dev config show vdpa0
}

test_add_mac_mtu() {
	mgmt_load
	expect_run 0 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56 mtu 9000
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show vdpa0
	expect_run 0 "vdpa0: mac 52:54:00:12:34:56 link up link_announce false mtu 9000 " "" \
		-- vdpa dev config show vdpa0
	expect_run 0 '{"config":{"vdpa0":{"mac":"52:54:00:12:34:56","link ":"up","link_announce ":false,"mtu":9000}}}' "" \
		-- vdpa -j dev config show vdpa0
	# the lowest MTU the policy accepts, and the mac alone
	expect_run 0 "" "" -- vdpa dev add name vdpa1 mgmtdev vdpasim_net mtu 68
	expect_run 0 "" "" -- vdpa dev add name vdpa2 mgmtdev vdpasim_net mac fe:dc:ba:98:76:54
	expect_run 0 "vdpa0: mac 52:54:00:12:34:56 link up link_announce false mtu 9000 
vdpa1: mac 00:00:00:00:00:00 link up link_announce false mtu 68 
vdpa2: mac fe:dc:ba:98:76:54 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show
}

# max_vqp N > 1 adds F_MQ and 2N+1 queues (N rx/tx pairs and the CVQ).
test_max_vqp() {
	mgmt_load
	expect_run 0 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net max_vqp 2
	expect_run 0 "$(dev_line vdpa0 5)" "" -- vdpa dev show vdpa0
	expect_run 0 "vdpa0: mac 00:00:00:00:00:00 link up link_announce false max_vq_pairs 2 mtu 1500 " "" \
		-- vdpa dev config show vdpa0
	expect_run 0 '{"config":{"vdpa0":{"mac":"00:00:00:00:00:00","link ":"up","link_announce ":false,"max_vq_pairs":2,"mtu":1500}}}' "" \
		-- vdpa -j dev config show vdpa0
	# one pair: the default layout, no MQ
	expect_run 0 "" "" -- vdpa dev add name vdpa1 mgmtdev vdpasim_net max_vqp 1
	expect_run 0 "$(dev_line vdpa1)" "" -- vdpa dev show vdpa1
	expect_run 0 "vdpa1: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show vdpa1
	# the largest count, with the other attributes; max_vqp matches by prefix
	expect_run 0 "" "" -- vdpa dev add name vdpa2 mgmtdev vdpasim_net mac 52:54:00:00:00:02 mtu 4000 max 16
	expect_run 0 "$(dev_line vdpa2 33)" "" -- vdpa dev show vdpa2
	expect_run 0 "vdpa2: mac 52:54:00:00:00:02 link up link_announce false max_vq_pairs 16 mtu 4000 " "" \
		-- vdpa dev config show vdpa2
	expect_run 0 "$(dev_line vdpa0 5)
$(dev_line vdpa1)
$(dev_line vdpa2 33)" "" -- vdpa dev show
}

# Dumps list devices in the order they were added, not by name.
test_dump_order() {
	mgmt_load
	vdpa dev add name vdpa1 mgmtdev vdpasim_net mac 52:54:00:00:00:01
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:00
	vdpa dev add name net-b mgmtdev vdpasim_net
	expect_run 0 "$(dev_line vdpa1)
$(dev_line vdpa0)
$(dev_line net-b)" "" -- vdpa dev show
	expect_run 0 "vdpa1: mac 52:54:00:00:00:01 link up link_announce false mtu 1500 
vdpa0: mac 52:54:00:00:00:00 link up link_announce false mtu 1500 
net-b: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 " "" -- vdpa dev config show
	vdpa dev del vdpa0
	expect_run 0 "$(dev_line vdpa1)
$(dev_line net-b)" "" -- vdpa dev show
	expect_run 0 '{"dev":{"vdpa1":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256},"net-b":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}' "" \
		-- vdpa -j dev show
	# a deleted name can be used again
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 0 "$(dev_line vdpa1)
$(dev_line net-b)
$(dev_line vdpa0)" "" -- vdpa dev show
}

# Every user may read devices and their config.
test_show_unprivileged() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56
	expect_run 0 "$(dev_line vdpa0)" "" -- as_unprivileged "$VDPA_BIN" dev show
	expect_run 0 "$(dev_line vdpa0)" "" -- as_unprivileged "$VDPA_BIN" dev show vdpa0
	expect_run 0 "vdpa0: mac 52:54:00:12:34:56 link up link_announce false mtu 1500 " "" \
		-- as_unprivileged "$VDPA_BIN" dev config show vdpa0
}

# No driver has negotiated features yet: DEV_VSTATS_GET answers EAGAIN
# "feature negotiation not complete".  iproute2 6.1 prints the error but
# exits 0 (6.4 started returning the kernel's error).
test_vstats_before_negotiation() {
	local e="Error: vdpa: feature negotiation not complete.
kernel answers: Resource temporarily unavailable"

	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run "$VSTATS_ERR_RC" "" "$e" -- vdpa dev vstats show vdpa0 qidx 0
	expect_run "$VSTATS_ERR_RC" "" "$e" -- vdpa dev vstats show vdpa0 qidx 1
	expect_run "$VSTATS_ERR_RC" "" "$e" -- vdpa dev vstats show vdpa0 qidx 2
	expect_run "$VSTATS_ERR_RC" '{"vstats":{}}' "$e" -- vdpa -j dev vstats show vdpa0 qidx 0
	# the queue index is required
	expect_run "$VSTATS_ERR_RC" "" "kernel answers: Invalid argument" -- vdpa dev vstats show vdpa0
	# an index beyond any virtio-net device (0x8000)
	expect_run "$VSTATS_ERR_RC" "" "Error: vdpa: queue index exceeds max value.
kernel answers: Numerical result out of range" -- vdpa dev vstats show vdpa0 qidx 32769
}

# Provisioning device features (VDPA_ATTR_DEV_FEATURES, which iproute2 6.1
# cannot send): the config reply follows the provisioned features.
test_add_features() {
	local base

	mgmt_load
	base=$(hexor $F_VERSION_1 $F_ACCESS_PLATFORM)
	expect_run 0 "ok" "" -- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor "$base" $F_MAC $F_MTU)"
	expect_run 0 "vdpa0: mac 00:00:00:00:00:00 mtu 1500 " "" -- vdpa dev config show vdpa0
	expect_run 0 "ok" "" -- vdpa_nl dev-new vdpa1 vdpasim_net --features "$(hexor "$base" $F_MAC $F_STATUS)" \
		--mac 52:54:00:00:00:01
	expect_run 0 "vdpa1: mac 52:54:00:00:00:01 link up link_announce false " "" -- vdpa dev config show vdpa1
	expect_run 0 "ok" "" -- vdpa_nl dev-new vdpa2 vdpasim_net --features "$base"
	expect_run 0 "vdpa2: " "" -- vdpa dev config show vdpa2
	expect_run 0 '{"config":{"vdpa2":{}}}' "" -- vdpa -j dev config show vdpa2
	# the full set is the default
	expect_run 0 "ok" "" -- vdpa_nl dev-new vdpa3 vdpasim_net --features \
		"$(hexor "$base" $F_MTU $F_MAC $F_STATUS $F_CTRL_VQ $F_CTRL_MAC_ADDR $F_ANY_LAYOUT)" --mtu 2000
	expect_run 0 "vdpa3: mac 00:00:00:00:00:00 link up link_announce false mtu 2000 " "" -- vdpa dev config show vdpa3
	expect_run 0 "$(dev_line vdpa0)
$(dev_line vdpa1)
$(dev_line vdpa2)
$(dev_line vdpa3)" "" -- vdpa dev show
	expect_run 0 "ok" "" -- vdpa_nl dev-del vdpa2
	expect_run 0 "" "" -- vdpa dev del vdpa3
	expect_run 0 "$(dev_line vdpa0)
$(dev_line vdpa1)" "" -- vdpa dev show
}

# net feature names as iproute2 prints them (bit order), else bit_N
feature_names() {
	local f=$(($1)) i names=() n

	for ((i = 0; i < 64; i++)); do
		(((f >> i) & 1)) || continue
		case $i in
		3) n=MTU ;; 5) n=MAC ;; 16) n=STATUS ;; 17) n=CTRL_VQ ;;
		22) n=MQ ;; 23) n=CTRL_MAC_ADDR ;; 27) n=ANY_LAYOUT ;;
		28) n=RING_INDIRECT_DESC ;; 29) n=RING_EVENT_IDX ;;
		32) n=VERSION_1 ;; 33) n=ACCESS_PLATFORM ;; 34) n=RING_PACKED ;;
		*) n=bit_$i ;;
		esac
		names+=("$n")
	done
	echo "${names[*]}"
}

# With a driver past FEATURES_OK (tools/vdpa-net-loop over vhost-vdpa,
# paused before its reset, after it put the MAC back through the control
# vq), config shows the negotiated features and vstats each queue's counters.
# No MQ was negotiated, so the reply carries no MAX_VQP and iproute2 6.1
# (max_vqp 0) calls qidx 0 the control vq and qidx 2 an rx queue.
test_negotiated_config_and_vstats() {
	local loop=$VDPA_TREE/tools/build/vdpa-net-loop pid feats names bad=0 n c='[0-9]+'

	have_module vhost_vdpa || skip "vhost_vdpa.ko not built"
	[ -x "$loop" ] || skip "$loop not built"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
	"$loop" -d /dev/vhost-vdpa-0 -n 4 --pause >loop.out 2>&1 &
	pid=$!
	for ((n = 0; n < 1200; n++)); do
		grep -qx paused loop.out && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -qx paused loop.out || { cat loop.out; fail "vdpa-net-loop did not pause"; }
	feats=$(sed -n 's/^device .*: features \(0x[0-9a-f]*\) .*/\1/p' loop.out)
	[ -n "$feats" ] || { cat loop.out; fail "no features line"; }
	names=$(feature_names "$feats")
	log "negotiated $feats: $names"

	capture vdpa dev config show vdpa0
	expect_eq "$out" "vdpa0: mac 52:54:00:12:34:56 link up link_announce false mtu 1500 
  negotiated_features $names" "config show while negotiated" || bad=1
	capture vdpa -j dev config show vdpa0
	expect_eq "$out" "$("$PY3" -c '
import json, sys
print(json.dumps({"config": {"vdpa0": {"mac": "52:54:00:12:34:56", "link ": "up",
      "link_announce ": False, "mtu": 1500,
      "negotiated_features": sys.argv[1].split()}}}, separators=(",", ":")))
' "$names")" "config show -j while negotiated" || bad=1

	capture vdpa dev vstats show vdpa0 qidx 0
	log "qidx 0: $out"
	# quoted parts are literal, $c is the number pattern
	# shellcheck disable=SC2027
	[[ $out =~ ^"vdpa0: queue_type control_vq rx packets "$c" rx bytes "$c" rx errors "$c" rx overruns "$c" rx drops "$c" "$ ]] ||
		{ echo "qidx 0: '$out' $err" >&2; bad=1; }
	capture vdpa dev vstats show vdpa0 qidx 1
	log "qidx 1: $out"
	# quoted parts are literal, $c is the number pattern
	# shellcheck disable=SC2027
	[[ $out =~ ^"vdpa0: queue_type tx tx packets "$c" tx bytes "$c" tx errors "$c" tx drops "$c" "$ ]] ||
		{ echo "qidx 1: '$out' $err" >&2; bad=1; }
	capture vdpa dev vstats show vdpa0 qidx 2
	log "qidx 2: $out"
	# quoted parts are literal, $c is the number pattern
	# shellcheck disable=SC2027
	[[ $out =~ ^"vdpa0: queue_type rx cvq requests "$c" cvq successes "$c" cvq errors "$c" "$ ]] ||
		{ echo "qidx 2: '$out' $err" >&2; bad=1; }
	capture vdpa -j dev vstats show vdpa0 qidx 1
	[[ $out =~ ^'{"vstats":{"vdpa0":{"queue_type":"tx","tx packets":'$c',"tx bytes":'$c',"tx errors":'$c',"tx drops":'$c'}}}'$ ]] ||
		{ echo "qidx 1 -j: '$out' $err" >&2; bad=1; }
	capture vdpa dev vstats show vdpa0 qidx 3
	expect_eq "$err" "Error: vdpa: queue index is not a virtqueue of the device.
kernel answers: Invalid argument" "qidx 3" || bad=1

	kill -USR1 "$pid"
	wait "$pid" || { cat loop.out; fail "vdpa-net-loop failed"; }
	[ "$bad" = 0 ] || fail "see above"
	# reset by the driver: nothing negotiated any more
	expect_run 0 "vdpa0: mac 52:54:00:12:34:56 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show vdpa0
}
