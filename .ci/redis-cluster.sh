#!/usr/bin/env bash
# A throw-away Redis Cluster of three masters on loopback, for redisstore's
# cluster tests. Needs redis-server and redis-cli (Redis 7).
#
#   .ci/redis-cluster.sh start   # prints TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS=...
#   .ci/redis-cluster.sh stop
#
#   eval "export $(.ci/redis-cluster.sh start | tail -n 1)"
#
# Ports 7001-7003 (REDIS_CLUSTER_PORTS overrides them, space-separated);
# configuration, data and logs live in one temporary directory, removed by
# stop. Nothing is persisted: a restarted node comes back empty.
set -euo pipefail

ports=(${REDIS_CLUSTER_PORTS:-7001 7002 7003})
dir=${TMPDIR:-/tmp}/tokenauth-redis-cluster-${ports[0]}

addrs() {
	local out=() p
	for p in "${ports[@]}"; do out+=("127.0.0.1:$p"); done
	(IFS=,; echo "${out[*]}")
}

# running reports whether every node's process is alive.
running() {
	local p pid
	for p in "${ports[@]}"; do
		pid=$(cat "$dir/$p/redis.pid" 2>/dev/null) || return 1
		kill -0 "$pid" 2>/dev/null || return 1
	done
}

wait_until() { # seconds, command...
	local n=$1
	shift
	for _ in $(seq 1 $((n * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}

cluster_ok() {
	local p
	for p in "${ports[@]}"; do
		redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
	done
}

start() {
	if running && cluster_ok; then
		echo "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS=$(addrs)"
		return
	fi
	stop >/dev/null
	local p
	for p in "${ports[@]}"; do
		if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null; then
			echo "port $p is taken: set REDIS_CLUSTER_PORTS to three free ports" >&2
			exit 1
		fi
	done
	for p in "${ports[@]}"; do
		mkdir -p "$dir/$p"
		redis-server --port "$p" --bind 127.0.0.1 --protected-mode no \
			--cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 5000 \
			--dir "$dir/$p" --save "" --appendonly no \
			--daemonize yes --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log"
	done
	for p in "${ports[@]}"; do
		wait_until 10 redis-cli -p "$p" ping >/dev/null 2>&1 ||
			{ echo "the node on port $p did not start: see $dir/$p/redis.log" >&2; exit 1; }
	done
	local nodes=()
	for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
		{ cat "$dir/create.log" >&2; exit 1; }
	wait_until 30 cluster_ok || { echo "the cluster did not reach cluster_state:ok" >&2; exit 1; }
	echo "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS=$(addrs)"
}

stop() {
	local p pid
	for p in "${ports[@]}"; do
		pid=$(cat "$dir/$p/redis.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null || true
		wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
	echo "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
