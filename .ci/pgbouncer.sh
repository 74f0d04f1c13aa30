#!/usr/bin/env bash
# PgBouncer in transaction mode on loopback, in front of the test
# PostgreSQL (127.0.0.1:5432, database test, user postgres), for pglisten's
# test that LISTEN through it is refused as undeliverable.
#
#   eval "$(.ci/pgbouncer.sh start)"   # exports TOKENAUTH_TEST_PGBOUNCER_DSN and TOKENAUTH_PGBOUNCER_DIR
#   .ci/pgbouncer.sh stop              # stops the one in $TOKENAUTH_PGBOUNCER_DIR, by its PID
#
# start installs PgBouncer if missing (Debian package pgbouncer), and runs
# it as nobody when run as root (PgBouncer refuses to run as root), with
# its config, auth file, PID and log in a temp dir of its own. Only the
# export lines go to stdout; everything else goes to stderr.
set -euo pipefail

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

start() {
	if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
	fi
	bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tokenauth-pgbouncer.XXXXXX")
	run=()
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$dir"
		run=(runuser -u nobody --)
	fi
	printf '"postgres" ""\n' >"$dir/userlist.txt"
	# A free port: the first that nothing answers on and PgBouncer binds.
	for _ in $(seq 1 20); do
		port=$((20000 + RANDOM % 40000))
		port_open "$port" && continue
		cat >"$dir/pgbouncer.ini" <<-EOF
			[databases]
			test = host=127.0.0.1 port=5432 dbname=test user=postgres

			[pgbouncer]
			listen_addr = 127.0.0.1
			listen_port = $port
			unix_socket_dir =
			auth_type = trust
			auth_file = $dir/userlist.txt
			pool_mode = transaction
			default_pool_size = 4
			max_client_conn = 100
			ignore_startup_parameters = extra_float_digits
			logfile = $dir/pgbouncer.log
			pidfile = $dir/pgbouncer.pid
		EOF
		chmod a+r "$dir"/*
		if "${run[@]}" "$bin" -d "$dir/pgbouncer.ini" >&2; then
			# Up when the port answers; gone when its PID file names a
			# process that has exited (the port was taken meanwhile).
			for _ in $(seq 1 50); do
				if port_open "$port" && [ -s "$dir/pgbouncer.pid" ]; then
					echo "PgBouncer $("$bin" --version | head -n 1 | cut -d' ' -f2), transaction mode, on 127.0.0.1:$port (pid $(cat "$dir/pgbouncer.pid"), dir $dir)" >&2
					echo "export TOKENAUTH_PGBOUNCER_DIR='$dir'"
					echo "export TOKENAUTH_TEST_PGBOUNCER_DSN='postgres://postgres@127.0.0.1:$port/test?sslmode=disable'"
					return 0
				fi
				if [ -s "$dir/pgbouncer.pid" ] && ! kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
					break
				fi
				sleep 0.2
			done
		fi
		stop_in "$dir" keep
	done
	echo "PgBouncer did not start; its log:" >&2
	cat "$dir/pgbouncer.log" >&2 || true
	rm -rf "$dir"
	return 1
}

# stop_in stops the PgBouncer whose PID file is in $1, and removes $1
# unless $2 is "keep".
stop_in() {
	local dir=$1 pid
	if [ -s "$dir/pgbouncer.pid" ]; then
		pid=$(cat "$dir/pgbouncer.pid")
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$dir/pgbouncer.pid"
	fi
	[ "${2:-}" = keep ] || rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop)
	dir=${TOKENAUTH_PGBOUNCER_DIR:-}
	case "$dir" in
	"${TMPDIR:-/tmp}"/tokenauth-pgbouncer.*) stop_in "$dir" ;;
	*) echo "pgbouncer.sh stop: TOKENAUTH_PGBOUNCER_DIR is not a directory that start made: '$dir'" >&2; exit 1 ;;
	esac
	;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
