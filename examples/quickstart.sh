#!/usr/bin/env bash
# A tour of docgrid from the shell: start a server on the embedded default in
# a temporary directory, import examples/corpus with the CLI, search, browse
# the tree, work in a working copy as with svn, then a look at the API with
# curl. Uses the installed docgrid-server and docgrid when both are on PATH
# (cargo install --path server && cargo install --path ui-cli), else builds
# them from this tree. Needs curl.
#
#   examples/quickstart.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if command -v docgrid-server >/dev/null && command -v docgrid >/dev/null; then
  server_bin=$(command -v docgrid-server); dg=$(command -v docgrid)
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/docgrid-target}"
  cargo build --release -q -p docgrid-server -p docgrid-cli --manifest-path "$root/Cargo.toml"
  server_bin="$CARGO_TARGET_DIR/release/docgrid-server"; dg="$CARGO_TARGET_DIR/release/docgrid"
fi

data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
DOCGRID_CONFIG="$data/client.toml" "$server_bin" run --data "$data" --listen "127.0.0.1:$port" 2>"$data/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
# The CLI finds the server and token here (the server writes this file on
# first start when none exists; DOCGRID_URL / --server work too).
export DOCGRID_CONFIG="$data/client.toml" DOCGRID_CACHE="$data/cache"
step() { echo; echo "== $*"; }

step "docgrid import examples/corpus --tag demo"
"$dg" import "$here/corpus" --tag demo
"$dg" tag /files/corpus/music/a-love-supreme.txt jazz live
"$dg" propset year 1965 /files/corpus/music/a-love-supreme.txt
"$dg" tag /files/corpus/notes/kind-of-blue.md jazz
"$dg" propset year 1959 /files/corpus/notes/kind-of-blue.md
step "docgrid search 'tag:jazz year<1960'"
"$dg" search 'tag:jazz year<1960'
step "docgrid search zebra   (full text inside HTML)"
"$dg" search zebra
step "docgrid ls /tags/jazz/   and   ls -v /files/corpus/notes/"
"$dg" ls /tags/jazz/
"$dg" ls -v /files/corpus/notes/
step "a working copy: checkout, edit, status, diff, commit, log"
cd "$data"
"$dg" checkout /files/corpus/notes notes
echo "Blue in Green." >> notes/kind-of-blue.md
"$dg" status notes
"$dg" diff notes
(cd notes && "$dg" commit -m "a line about Blue in Green" kind-of-blue.md)
"$dg" log -l 2 -v
step "a bad query names the column (exit $("$dg" search 'year>=' >/dev/null 2>&1 || echo $?))"
"$dg" search 'year>=' || true
step "the same store over the API"
auth="Authorization: Bearer $(cat "$data/admin.token")"
curl -sf -H "$auth" "http://127.0.0.1:$port/v1/tree/tags/jazz/"; echo
