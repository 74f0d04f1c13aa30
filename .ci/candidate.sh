# Sourced by .ci/release-check and .ci/tidy. The modules require each other
# by version, with no replace directive, so a module on its own (GOWORK=off)
# needs those versions from a module proxy. Before a tag exists, this builds
# one from the working tree, so that the go command sees exactly what users
# will get once everything is tagged.
#
# Expects $root (the repository root). Defines:
#   core_path          the root module's path
#   candidate_version  the version the other modules require of the core
#   candidate_env DIR  points the go command at a proxy in DIR/proxy, with
#                      a module cache of its own in DIR/modcache (call it
#                      first: it builds the publisher with the caller's setup)
#   candidate_publish DIR VERSION [TREE]
#                      publishes every module at VERSION into DIR/proxy (and
#                      copies the tree it read to TREE), dropping any earlier
#                      candidate from DIR/modcache: a stale copy must never
#                      be reused
#   strip_candidate_sums FILE...
#                      drops the go.sum lines of this repository's modules:
#                      a candidate's hash changes with every edit, so go.sum
#                      records them only for real tags (RELEASING.md)
#   write_work DIR VERSION MODULES
#                      writes DIR/go.work: every module in use, and each
#                      published module (MODULES: modproxy's output) at
#                      VERSION replaced by its directory, because the
#                      workspace loads the go.mod of every required version,
#                      which does not exist before the tag
#   tidy_modules DIR   go mod tidy in every module under DIR, each on its own
#   remove_candidate_dir DIR
#                      removes DIR, read-only module cache files included

core_path=$(sed -n 's/^module[[:space:]]*//p' "$root/go.mod")

# module_dirs [DIR] lists every directory holding a go.mod, relative to DIR
# (default $root), the root as ".".
module_dirs() {
	(cd "${1:-$root}" && find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sed 's#^\./##' | sort)
}

# go_line prints the go version a go.mod declares.
go_line() { sed -n 's/^go[[:space:]]*//p' "$1"; }

# sibling_requirements FILE... prints "path version" for each requirement
# on this repository's modules in the go.mod files named.
sibling_requirements() {
	awk -v core="$core_path" '
		$1 == "require" { $1 = ""; $0 = $0 }
		$1 == core || index($1, core "/") == 1 { print $1, $2 }' "$@"
}

# candidate_version prints the version at which the modules require each
# other, failing when they disagree: all modules are released together.
candidate_version() {
	local versions
	versions=$(module_dirs | grep -vx '\.' | sed "s|^|$root/|; s|$|/go.mod|" | xargs awk -v core="$core_path" '
		$1 == "require" { $1 = ""; $0 = $0 }
		$1 == core || index($1, core "/") == 1 { print $2 }' | sort -u)
	if [ "$(printf '%s\n' "$versions" | grep -c .)" != 1 ]; then
		echo "the modules require different versions of $core_path and its sub-modules (want one): $(echo $versions)" >&2
		return 1
	fi
	echo "$versions"
}

candidate_env() {
	local dir=$1 cache
	cache=$(go env GOMODCACHE)
	mkdir -p "$dir/proxy" "$dir/modcache"
	(cd "$root/.ci" && GOWORK=off go build -o "$dir/modproxy" ./modproxy)
	export GOWORK=off
	# The candidate first; then the local module cache as a proxy, so that
	# nothing already downloaded is fetched again; then the usual proxy.
	export GOPROXY="file://$dir/proxy,file://$cache/cache/download,$(go env GOPROXY)"
	export GOMODCACHE="$dir/modcache"
	export GONOSUMDB="$core_path${GONOSUMDB:+,$GONOSUMDB}"
	# -trimpath: the build cache then keys packages by content alone, not by
	# this run's temporary directories, so later runs reuse what this one
	# compiles.
	export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -trimpath"
}

candidate_publish() {
	local dir=$1 version=$2 tree=${3:-}
	rm -rf "$dir/proxy"
	[ -z "$tree" ] || remove_candidate_dir "$tree"
	"$dir/modproxy" -version "$version" -o "$dir/proxy" ${tree:+-tree "$tree"} "$root" >"$dir/modules"
	remove_candidate_dir "$dir/modcache/$core_path"
	remove_candidate_dir "$dir/modcache/cache/download/$core_path"
}

write_work() {
	local dir=$1 version=$2 modules=$3 golines m path mdir
	golines=$(module_dirs "$dir" | sed "s|^|$dir/|; s|$|/go.mod|" | xargs -n1 sed -n "s/^go[[:space:]]*//p")
	{
		printf 'go %s\n\nuse (\n' "$(printf '%s\n' $golines | sort -V | tail -n 1)"
		for m in $(module_dirs "$dir"); do
			[ "$m" = . ] && printf '\t.\n' || printf '\t./%s\n' "$m"
		done
		printf ')\n\n'
		printf '// The modules require each other at %s. Until that is tagged, these\n' "$version"
		printf '// replace it with the tree; .ci/tidy writes this file (RELEASING.md).\n'
		printf 'replace (\n'
		while read -r path mdir; do
			[ "$mdir" = . ] && mdir= || mdir=/$mdir
			printf '\t%s %s => .%s\n' "$path" "$version" "$mdir"
		done <"$modules"
		printf ')\n'
	} >"$dir/go.work"
	GOWORK= go work edit -fmt "$dir/go.work"
}

tidy_modules() {
	local dir=$1 m
	for m in $(module_dirs "$dir"); do
		(cd "$dir/$m" && go mod tidy) || { echo "go mod tidy fails in $m" >&2; return 1; }
		strip_candidate_sums "$dir/$m/go.sum"
	done
}

strip_candidate_sums() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		grep -v "^$core_path[ /]" "$f" >"$f.tmp" || true
		if [ -s "$f.tmp" ]; then mv "$f.tmp" "$f"; else rm -f "$f" "$f.tmp"; fi
	done
}

remove_candidate_dir() {
	[ -d "$1" ] || return 0
	chmod -R u+w "$1" 2>/dev/null || true # the module cache is read-only
	rm -rf "$1"
}
