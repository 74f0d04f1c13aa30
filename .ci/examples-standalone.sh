#!/usr/bin/env bash
# Proves that each examples/<name> folder builds on its own, as
# examples/README.md tells users to copy one: into an empty directory
# outside the repository, then go mod init, go mod tidy, go build (and
# go vet, which compiles the tests too).
#
# Each copy gets replace directives to this checkout, for this check only:
# what is checked is that a folder needs nothing of the repository but its
# modules. With EXAMPLES_CANDIDATE=1 the tokenauth modules come instead
# from the release candidate, published into a file:// module proxy by
# .ci/candidate.sh, as users will get them from the tag; that takes several
# minutes (a module cache of its own), and .ci/release-check already
# installs every module that way.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

replaces=()
if [ "${EXAMPLES_CANDIDATE:-}" = 1 ]; then
	# shellcheck source=/dev/null
	. .ci/candidate.sh
	version=$(candidate_version)
	candidate_env "$work/candidate"
	candidate_publish "$work/candidate" "$version"
	echo "tokenauth modules: the candidate $version, from a file:// module proxy"
else
	export GOWORK=off GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
	while read -r mod; do
		dir=$(dirname "$mod")
		path=$(sed -n 's/^module[[:space:]]*//p' "$mod")
		replaces+=("-replace=$path=$root/${dir#./}")
	done < <(find . -name go.mod -not -path './.git/*' -not -path './examples/*' -not -path './e2e/*' | sort)
	echo "tokenauth modules: this checkout, through replace directives in the copies"
fi

failed=()
for src in examples/*/; do
	name=$(basename "$src")
	dst="$work/copies/$name"
	mkdir -p "$dst"
	cp -R "$src." "$dst/"
	echo "--- examples/$name"
	if ! (
		cd "$dst"
		go mod init "example.com/$name" 2>/dev/null
		if [ ${#replaces[@]} -gt 0 ]; then go mod edit "${replaces[@]}"; fi
		# tidy names every module it looks up; show that only on failure.
		out=$(go mod tidy 2>&1) || { echo "$out"; exit 1; }
		go build ./...
		go vet ./...
	); then
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "these examples do not build when copied alone: ${failed[*]}" >&2
	exit 1
fi
echo "every example builds alone"
