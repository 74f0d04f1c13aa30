#!/usr/bin/env bash
# run.sh: tokenauth's load test. It builds cmd/benchserver, starts one
# server per mode on loopback (each seeds its tokens), checks that each
# answers as it should, then runs wrk against them interleaved (A B C …,
# A B C …) after a warm-up, and prints two Markdown tables: median req/s
# with its spread over the rounds, p50 and p99 latency, and the ratio to the
# bare net/http server of the same rounds; then the issue's targets, each a
# ratio of tokenauth to a peer (echo KeyAuth, jwtauth, one pgx SELECT)
# within the same rounds. It stops every server it started, also on Ctrl-C.
#
#   e2e/bench/run.sh                      # 10³ tokens, 5 rounds of 10 s
#   e2e/bench/run.sh -n 1000000 -modes bare,memstore,postgres-cache,postgres,pgx-select
#   e2e/bench/run.sh -smoke               # CI: 2 s, 1 round, checks the harness
#   e2e/bench/run.sh -with old=b4bfc5b -modes bare,memstore,memstore@old
#                                     # A/B: this tree against another
#
# The PostgreSQL modes use TOKENAUTH_TEST_POSTGRES_DSN (default
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and own the
# tables tokenauth_bench_postgres, tokenauth_bench_postgres_cache and
# tokenauth_bench_pgx_select, which they drop and create. Only ratios from one run compare.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage() {
	cat <<'USAGE'
usage: run.sh [-d DURATION] [-r ROUNDS] [-w WARMUP] [-n TOKENS] [-modes LIST]
              [-t THREADS] [-c CONNECTIONS] [-settle SECONDS] [-smoke]
              [-with NAME=SOURCE]...

  -d DURATION     each wrk run, as wrk takes it (10s, 1m)        default 10s
  -r ROUNDS       rounds over all modes; the table shows medians default 5
  -w WARMUP       warm-up run per mode before the rounds, 0 for none
                                                                 default 5s
  -n TOKENS       tokens seeded in each server (1000000 for 10⁶) default 1000
  -modes LIST     comma-separated modes, in table order; default every one
                  but redis and redis-cache: bare, memstore, postgres-cache,
                  postgres, pgx-select, sqlite, gin-bare, gin, echo-bare,
                  echo-keyauth, jwtauth
  -t THREADS      wrk threads                                    default 1
  -c CONNECTIONS  wrk connections                                default 32
  -settle SECONDS before each wrk run, wait up to this long for other
                  processes to leave the CPU idle (0: do not wait) default 60
  -smoke          check the harness end to end, fast:
                  -d 2s -r 1 -w 0 -n 100 -settle 0
  -with NAME=SOURCE
                  also build benchserver from SOURCE, a directory holding
                  a checkout of the repository or a git revision of this
                  one; a mode written MODE@NAME in -modes runs on it. Each
                  such mode is compared with MODE, round by round, in a
                  third table. NAME: lowercase letters, digits, '_'
USAGE
}

duration=10s rounds=5 warmup=5s tokens=1000 modes= threads=1 conns=32 settle=60
declare -A with=()
while [ $# -gt 0 ]; do
	case $1 in
	-smoke) duration=2s rounds=1 warmup=0 tokens=100 settle=0; shift; continue ;;
	-h | -help | --help) usage; exit 0 ;;
	-d | -r | -w | -n | -modes | -t | -c | -settle | -with)
		if [ $# -lt 2 ]; then echo "run.sh: $1 needs a value" >&2; usage >&2; exit 2; fi ;;
	*) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	case $1 in
	-d) duration=$2 ;;
	-r) rounds=$2 ;;
	-w) warmup=$2 ;;
	-n) tokens=$2 ;;
	-modes) modes=$2 ;;
	-t) threads=$2 ;;
	-c) conns=$2 ;;
	-settle) settle=$2 ;;
	-with)
		[[ $2 =~ ^([a-z0-9_]+)=(.+)$ ]] || { echo "run.sh: -with wants NAME=SOURCE with NAME in [a-z0-9_], not $2" >&2; exit 2; }
		with[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]} ;;
	esac
	shift 2
done
for v in "-d $duration" "-w $warmup"; do
	[[ ${v#* } =~ ^[0-9]+[smh]?$ ]] || { echo "run.sh: ${v% *} wants a duration such as 10s, not ${v#* }" >&2; exit 2; }
done
for v in "-r $rounds" "-n $tokens" "-t $threads" "-c $conns"; do
	[[ ${v#* } =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: ${v% *} wants a positive integer, not ${v#* }" >&2; exit 2; }
done
[[ $settle =~ ^[0-9]+$ ]] || { echo "run.sh: -settle wants a number of seconds, not $settle" >&2; exit 2; }
if [ "$conns" -lt "$threads" ]; then echo "run.sh: -c must be at least -t" >&2; exit 2; fi

export TOKENAUTH_TEST_POSTGRES_DSN=${TOKENAUTH_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export TOKENAUTH_TEST_REDIS_ADDR=${TOKENAUTH_TEST_REDIS_ADDR:-127.0.0.1:6379}

if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "run.sh: installing wrk from Debian" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	else
		echo "run.sh: wrk is missing; install it (Debian, Ubuntu: sudo apt-get install wrk)" >&2
		exit 1
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokenauth-bench.XXXXXX")
pids=()

# stop_servers asks every server to stop (each removes what it seeded),
# waits up to 10 s, then kills what is left.
stop_servers() {
	local pid
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in $(seq 1 100); do
		local alive=
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	trap - EXIT INT TERM
	stop_servers
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo >&2; echo "run.sh: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

echo "building cmd/benchserver" >&2
(cd "$here" && go build -o "$tmp/benchserver" ./cmd/benchserver)
for name in "${!with[@]}"; do
	src=${with[$name]}
	if [ ! -d "$src" ]; then
		echo "extracting $src for $name" >&2
		mkdir "$tmp/src-$name"
		git -C "$here" archive "$src" | tar -x -C "$tmp/src-$name"
		src=$tmp/src-$name
	fi
	echo "building cmd/benchserver of $name" >&2
	# The harness lived in bench/ before it joined the e2e module.
	dir=$src/e2e/bench
	[ -d "$dir/cmd/benchserver" ] || dir=$src/bench
	(cd "$dir" && go build -o "$tmp/benchserver@$name" ./cmd/benchserver)
done

if [ -z "$modes" ]; then
	modes=$("$tmp/benchserver" -list | paste -sd, -)
fi
IFS=, read -r -a mode_list <<<"$modes"
[ ${#mode_list[@]} -gt 0 ] || { echo "run.sh: -modes is empty" >&2; exit 2; }

declare -A url pid_of
for m in "${mode_list[@]}"; do
	[ -z "${url[$m]+x}" ] || { echo "run.sh: mode $m given twice" >&2; exit 2; }
	# MODE@NAME runs MODE on the benchserver of -with NAME, in a
	# namespace of its own.
	bin=$tmp/benchserver base=$m ns=()
	if [[ $m == *@* ]]; then
		base=${m%@*} name=${m#*@}
		[ -n "${with[$name]+x}" ] || { echo "run.sh: mode $m: no -with $name=SOURCE" >&2; exit 2; }
		bin=$tmp/benchserver@$name ns=(-namespace "tokenauth_bench_${base//-/_}_$name")
	fi
	echo "starting $m (seeding $tokens tokens)" >&2
	"$bin" -mode "$base" "${ns[@]}" -tokens "$tokens" -keys "$tmp/$m.keys" >"$tmp/$m.out" 2>"$tmp/$m.log" &
	pid=$!
	pids+=("$pid")
	pid_of[$m]=$pid
	# Seeding 10⁶ tokens in a database takes minutes.
	deadline=$((SECONDS + 120 + tokens / 1000))
	until grep -q '^ready ' "$tmp/$m.out"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
			echo "run.sh: server $m did not start:" >&2
			cat "$tmp/$m.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	url[$m]=$(awk '/^ready /{print $2; exit}' "$tmp/$m.out")
	"$bin" -mode "$base" -keys "$tmp/$m.keys" -check "${url[$m]}"
done
echo "every server answers as it should" >&2

# cpu_ticks MODE: the CPU time MODE's server has used so far, in clock
# ticks (user and system).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${pid_of[$1]}/stat"; }
clk_tck=$(getconf CLK_TCK)

# bench MODE DURATION: one wrk run; prints "req/s p50_us p99_us timeouts
# cpu_us", the last the server's CPU time per request in microseconds. An
# error status or a socket error fails the run: the figures would not be
# those of the server answering as it should. Requests that time out (no
# answer within 5 s) are counted and reported under the table.
bench() {
	local m=$1 out=$tmp/wrk.out ticks
	ticks=$(cpu_ticks "$m")
	if ! wrk -t"$threads" -c"$conns" -d"$2" --timeout 5s -s "$here/wrk/tokens.lua" \
		"${url[$m]}/api/protected/" -- "$tmp/$m.keys" >"$out" 2>&1; then
		echo "run.sh: wrk failed on $m:" >&2
		cat "$out" >&2
		exit 1
	fi
	local line
	line=$(grep '^RESULT' "$out") || { echo "run.sh: no result from wrk on $m:" >&2; cat "$out" >&2; exit 1; }
	local _ rps p50 p99 status errors timeouts requests
	IFS=$'\t' read -r _ rps p50 p99 status errors timeouts requests <<<"$line"
	ticks=$(($(cpu_ticks "$m") - ticks))
	if [ "$status" != 0 ] || [ "$errors" != 0 ]; then
		echo "run.sh: $m answered $status requests with an error status and failed $errors at the socket:" >&2
		cat "$out" "$tmp/$m.log" >&2
		exit 1
	fi
	awk -v rps="$rps" -v p50="$p50" -v p99="$p99" -v t="$timeouts" -v ticks="$ticks" -v hz="$clk_tck" -v n="$requests" \
		'BEGIN { printf "%s %s %s %s %.2f\n", rps, p50, p99, t, (n > 0 ? ticks * 1e6 / hz / n : 0) }'
}

# cpu_busy prints the share of CPU time, in percent, that was not idle
# machine-wide during the next second.
cpu_busy() {
	local a b i total=0
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	local idle=$((b[4] - a[4] + b[5] - a[5]))
	echo $((total > 0 ? (total - idle) * 100 / total : 0))
}

# settle waits, up to $settle seconds, until the servers' machine is idle
# (under 10 % busy), so that another process's burst does not skew one run.
# It counts the runs that started on a busy machine all the same.
busy_runs=0 runs=0
settle() {
	runs=$((runs + 1))
	[ "$settle" -gt 0 ] || return 0
	local deadline=$((SECONDS + settle)) busy
	while busy=$(cpu_busy) && [ "$busy" -ge 10 ]; do
		if [ $SECONDS -ge $deadline ]; then
			busy_runs=$((busy_runs + 1))
			return 0
		fi
		echo "waiting for the machine to settle: ${busy}% busy" >&2
	done
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(load)

if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
	echo "warming up: $warmup per mode" >&2
	for m in "${mode_list[@]}"; do bench "$m" "$warmup" >/dev/null; done
fi
: >"$tmp/results"
for r in $(seq 1 "$rounds"); do
	for m in "${mode_list[@]}"; do
		settle
		res=$(bench "$m" "$duration")
		echo "round $r/$rounds  $m: $res (req/s p50_us p99_us timeouts cpu_us/req)" >&2
		echo "$r $m $res" >>"$tmp/results"
	done
done
load_after=$(load)
stop_servers

# stats: the median, minimum and maximum of the numbers on standard input,
# one a line; nothing for no numbers.
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]
	}'
}
# column MODE N: column N of MODE's results, one a line per round.
column() { awk -v m="$1" -v c="$2" '$2 == m { print $c }' "$tmp/results"; }
# ratios A B [N]: A's req/s (column N) over B's, one a line per round in
# which both ran.
ratios() {
	awk -v a="$1" -v b="$2" -v c="${3:-3}" '$2 == a { x[$1] = $c } $2 == b { y[$1] = $c }
		END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' "$tmp/results"
}
has_mode() { local m; for m in "${mode_list[@]}"; do [ "$m" = "$1" ] && return 0; done; return 1; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "$started · $(nproc) cores, ${cpu:-unknown CPU} · $(go version | cut -d' ' -f3) · $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
busy_note=
if [ "$settle" -gt 0 ]; then
	busy_note=" · $busy_runs of $runs runs started while other processes kept the CPU busy (after waiting up to ${settle}s for them)"
fi
echo "$tokens tokens per server · wrk -t$threads -c$conns -d$duration · median of $rounds round(s) after a ${warmup} warm-up · load average $load_before before, $load_after after$busy_note"
echo
# req/s, latencies and CPU are medians over the rounds; "spread" is the
# lowest and highest req/s of a round; the ratio is the median of the
# per-round ratios (each against bare in the same round), with their
# range. CPU is the server's own CPU time per request (user and system,
# from /proc), which other processes on the machine disturb far less
# than req/s.
echo "| server | req/s | spread | p50 | p99 | ratio to bare | ratio range | CPU/req |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in "${mode_list[@]}"; do
	read -r rps lo hi < <(column "$m" 3 | stats)
	read -r p50 _ < <(column "$m" 4 | stats)
	read -r p99 _ < <(column "$m" 5 | stats)
	read -r cpu_us _ < <(column "$m" 7 | stats)
	read -r ratio rlo rhi < <(has_mode bare && ratios "$m" bare | stats || true)
	awk -v m="$m" -v rps="$rps" -v lo="$lo" -v hi="$hi" -v p50="$p50" -v p99="$p99" \
		-v ratio="$ratio" -v rlo="$rlo" -v rhi="$rhi" -v cpu="$cpu_us" 'BEGIN {
		r = ratio == "" ? "–" : sprintf("%.2f", ratio)
		rr = ratio == "" ? "–" : sprintf("%.2f–%.2f", rlo, rhi)
		printf "| %s | %.0f | %.0f–%.0f | %.2f ms | %.2f ms | %s | %s | %.1f µs |\n", m, rps, lo, hi, p50 / 1000, p99 / 1000, r, rr, cpu
	}'
done

# The issue's targets, each a ratio of req/s within the same rounds; shown
# for the pairs this run measured.
targets=(
	"memstore bare 0.95"
	"postgres-cache bare 0.95"
	"memstore echo-keyauth 1.00"
	"postgres-cache echo-keyauth 1.00"
	"postgres pgx-select 0.95"
	"memstore jwtauth 2.00"
	"postgres jwtauth 2.00"
)
# header ROW RULE: a table's head, printed before its first row only.
header() {
	[ -z "$headed" ] || return 0
	headed=1
	printf '\n%s\n%s\n' "$1" "$2"
}
headed=
for t in "${targets[@]}"; do
	read -r a b want <<<"$t"
	has_mode "$a" && has_mode "$b" || continue
	header "| comparison (req/s, same round) | target | median | range | |" "| --- | ---: | ---: | ---: | --- |"
	read -r ratio lo hi < <(ratios "$a" "$b" | stats)
	awk -v a="$a" -v b="$b" -v want="$want" -v ratio="$ratio" -v lo="$lo" -v hi="$hi" 'BEGIN {
		printf "| %s / %s | ≥ %.2f | %.2f | %.2f–%.2f | %s |\n", a, b, want, ratio, lo, hi, ratio >= want ? "met" : "missed"
	}'
done
# Each MODE@NAME against MODE, round by round: the A/B of -with.
headed=
for m in "${mode_list[@]}"; do
	[[ $m == *@* ]] && has_mode "${m%@*}" || continue
	header "| A/B, same round | req/s ratio | range | CPU/req ratio | range |" "| --- | ---: | ---: | ---: | ---: |"
	read -r ratio lo hi < <(ratios "$m" "${m%@*}" | stats)
	read -r cratio clo chi < <(ratios "$m" "${m%@*}" 7 | stats)
	awk -v a="$m" -v b="${m%@*}" -v ratio="$ratio" -v lo="$lo" -v hi="$hi" -v cr="$cratio" -v clo="$clo" -v chi="$chi" 'BEGIN {
		printf "| %s / %s | %.3f | %.3f–%.3f | %.3f | %.3f–%.3f |\n", a, b, ratio, lo, hi, cr, clo, chi
	}'
done
for m in "${mode_list[@]}"; do
	awk -v m="$m" '$2 == m { n += $6 } END { if (n) printf "\n%s: %d request(s) timed out (no answer within 5 s).\n", m, n }' "$tmp/results"
done
