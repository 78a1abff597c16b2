#!/usr/bin/env bash
# usage: tools/cluster.sh [-n N] [-p PORT] [-s STATS_PORT] [-k KERNEL] [-a 'MORE CMDLINE']
#
# `make cluster N=3`: N Keel instances behind haproxy, in the foreground
# until Ctrl-C (or SIGTERM), which removes everything it made.
#
#   127.0.0.1:PORT  haproxy (host side); its stats page on STATS_PORT (PORT+1)
#        |          its server lines carry `namespace`: it connects inside
#   netns keel-cluster-PID
#     br0 10.9.0.1/24 -- tap1 -- Keel 1, 10.9.0.11, MAC 52:54:00:09:00:11
#                     -- tap2 -- Keel 2, 10.9.0.12, MAC 52:54:00:09:00:12
#                     -- ...
#
# Each instance is a stateless VM: the same kernel, its address on the
# command line (a disk image would take it from DHCP, by MAC). A
# supervisor loop boots it again whenever its QEMU exits, as a VM
# orchestrator would: press an instance's power button (its monitor is
# DIR/kI.mon) and it drains (drain_delay), powers off and comes back.
# Nothing leaves the namespace except haproxy's loopback listener.
#
# State in build/cluster/PID/: serial logs (kI-bootB.log), monitors,
# haproxy.cfg, haproxy's admin socket (haproxy.sock: `show stat`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=3 port=8090 stats_port='' kernel=$root/build/keel.elf extra=
while getopts n:p:s:k:a: opt; do
	case $opt in
	n) n=$OPTARG ;;
	p) port=$OPTARG ;;
	s) stats_port=$OPTARG ;;
	k) kernel=$OPTARG ;;
	a) extra=$OPTARG ;;
	*) sed -n 2p "$0" >&2; exit 2 ;;
	esac
done
stats_port=${stats_port:-$((port + 1))}
((n >= 1 && n <= 50)) || { echo "keel: cluster: N must be 1..50" >&2; exit 2; }
[[ -f $kernel ]] || { echo "keel: cluster: no kernel at $kernel (make first)" >&2; exit 1; }
((EUID == 0)) || { echo "keel: cluster: needs root (network namespace, taps)" >&2; exit 1; }

ns=keel-cluster-$$
dir=$root/build/cluster/$$
# drain_delay: long enough for haproxy to see /healthz fail (fall 2 x
# inter 300ms) and for its pooled connections to close; shutdown_timeout
# bounds the requests still in flight after that.
cmdline="drain_delay=2 shutdown_timeout=5 $extra"
supervisors=()
haproxy_pid=

log() { echo "keel: cluster: $*"; }

# Ctrl-C reaches every process of the foreground group, SIGTERM from
# timeout(1) too: some may be gone already, so nothing here may stop the
# cleanup half-way.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	trap - EXIT INT TERM
	set +e
	touch "$dir/stopping"
	[[ -n $haproxy_pid ]] && kill "$haproxy_pid" 2>/dev/null
	((${#supervisors[@]})) && kill "${supervisors[@]}" 2>/dev/null
	wait
	# Whatever still runs in the namespace was started here: a QEMU whose
	# supervisor was stopped before it could stop it.
	local left t
	for ((t = 0; t < 50; t++)); do
		mapfile -t left < <(ip netns pids "$ns" 2>/dev/null)
		((${#left[@]})) || break
		kill -9 "${left[@]}" 2>/dev/null
		sleep 0.1
	done
	ip netns del "$ns" 2>/dev/null
	log "stopped; logs in $dir"
}

mkdir -p "$dir"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the namespace: a bridge, one tap per instance ----
ip netns add "$ns"
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip link add br0 type bridge
inns ip addr add 10.9.0.1/24 dev br0
inns ip link set br0 up
for ((i = 1; i <= n; i++)); do
	inns ip tuntap add dev "tap$i" mode tap
	inns ip link set "tap$i" master br0 up
done

# ---- the instances: boot, and boot again whenever QEMU exits ----
# $1: instance number. Stopped by SIGTERM, it stops its QEMU first.
supervise() {
	local i=$1 boot=0 ip mac qemu=
	ip=10.9.0.$((10 + i)) mac=52:54:00:09:00:$((10 + i))
	trap '[[ -n $qemu ]] && kill $qemu 2>/dev/null; exit 0' TERM
	while [[ ! -e $dir/stopping ]]; do
		boot=$((boot + 1))
		rm -f "$dir/k$i.mon"
		inns qemu-system-x86_64 -accel tcg -cpu max -m 128M -display none -no-reboot \
			-serial "file:$dir/k$i-boot$boot.log" -monitor "unix:$dir/k$i.mon,server,nowait" \
			-netdev "tap,id=n0,ifname=tap$i,script=no,downscript=no" \
			-device "virtio-net-pci,netdev=n0,mac=$mac" \
			-kernel "$kernel" -append "ip=$ip/24 $cmdline" </dev/null >/dev/null 2>>"$dir/k$i.stderr" &
		qemu=$!
		wait $qemu || true
	done
}
for ((i = 1; i <= n; i++)); do
	supervise "$i" &
	supervisors+=($!)
done

# ---- haproxy, configured as for production ----
{
	cat <<CFG
global
	# The admin socket: \`show stat\` (per-server state and request counts),
	# \`disable server keel/k1\` for maintenance by hand.
	stats socket $dir/haproxy.sock mode 600 level admin
	maxconn 4096

defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 10s
	# A request that found no server connection (refused, reset) or got
	# nothing back is sent again, to another server (redispatch), at most
	# 3 times. Only GET and HEAD are retried after they reached a server:
	# the others may have had effects.
	retries 3
	option redispatch 1
	retry-on conn-failure empty-response response-timeout

frontend web
	bind 127.0.0.1:$port
	default_backend keel

# For the operator: the stats page (\`;csv\` for scripts) and haproxy's
# own Prometheus metrics, on a port of their own.
frontend stats
	bind 127.0.0.1:$stats_port
	http-request use-service prometheus-exporter if { path /metrics }
	stats enable
	stats uri /
	stats refresh 2s

backend keel
	balance roundrobin
	http-request disable-l7-retry if !METH_GET !METH_HEAD
	# An instance is in rotation while GET /healthz answers 200. Keel
	# answers 503 from its power button on for drain_delay seconds while
	# still serving, so checked every 300 ms and out after 2 failures it
	# leaves before it stops accepting; back in after 2 successes.
	option httpchk GET /healthz
	http-check expect status 200
	default-server check inter 300ms fall 2 rise 2
	# Pooled connections to the servers are kept and reused; Keel closes
	# each one after its response while draining, so none is cut.
	http-reuse safe
CFG
	for ((i = 1; i <= n; i++)); do
		printf '\tserver k%d 10.9.0.%d:80 namespace %s\n' "$i" $((10 + i)) "$ns"
	done
} >"$dir/haproxy.cfg"
haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!

log "$n instances in netns $ns (10.9.0.11..), haproxy on 127.0.0.1:$port; state in $dir"
# Ready when haproxy has every instance in rotation (CSV: column 18 is the
# status).
up=0
for ((t = 0; t < 600 && up < n; t++)); do
	sleep 0.2
	up=$(curl -s -m 2 "http://127.0.0.1:$stats_port/;csv" | awk -F, '$1 == "keel" && $2 != "BACKEND" && $18 == "UP"' | wc -l || true)
done
((up == n)) || { log "only $up of $n instances came up in 120 s; see $dir"; exit 1; }
log "ready: curl http://127.0.0.1:$port/  (stats: http://127.0.0.1:$stats_port/; Ctrl-C stops it)"
# Foreground until a signal or until haproxy dies.
wait "$haproxy_pid" || true
haproxy_pid=
log "haproxy exited (see $dir/haproxy.log)"
exit 1
