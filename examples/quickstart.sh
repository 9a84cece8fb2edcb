#!/usr/bin/env bash
# A tour of docgrid's API with curl: start a server on the embedded default
# in a temporary directory, import examples/corpus with tags and paths, then
# search, list the tree and download. Needs curl and python3 (for JSON).
#
#   examples/quickstart.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/docgrid-target}"
cargo build --release -q -p docgrid-server --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/release/docgrid-server"

data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
DOCGRID_CONFIG="$data/client.toml" "$bin" run --data "$data" --listen "127.0.0.1:$port" 2>"$data/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"
auth="Authorization: Bearer $(cat "$data/admin.token")"

upload() { # FILE QUERY-PARAMETERS
  curl -sf -H "$auth" --data-binary @"$1" "$url/v1/docs?$2" >/dev/null
  echo "imported ${1#"$here/"}"
}
upload "$here/corpus/notes/kind-of-blue.md" "name=kind-of-blue.md&tag=jazz&year=1959&path=notes/kind-of-blue.md"
upload "$here/corpus/music/a-love-supreme.txt" "name=a-love-supreme.txt&tag=jazz&tag=live&year=1965&path=music/a-love-supreme.txt"
upload "$here/corpus/notes/quarterly-report.html" "name=quarterly-report.html&tag=work&year=2026&path=notes/quarterly-report.html"

show() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d, indent=1)[:1500])'; }
q() { python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
echo; echo "== search: tag:jazz year<1960"
curl -sf -H "$auth" "$url/v1/search?q=$(q 'tag:jazz year<1960')" | python3 -c 'import json,sys; [print(" ", h["doc"]["name"]) for h in json.load(sys.stdin)["hits"]]'
echo "== search: zebra (full text inside HTML)"
curl -sf -H "$auth" "$url/v1/search?q=zebra" | python3 -c 'import json,sys; [print(" ", h["doc"]["name"], "--", h.get("snippet")) for h in json.load(sys.stdin)["hits"]]'
echo "== tree: /tags/jazz/"
curl -sf -H "$auth" "$url/v1/tree/tags/jazz/" | python3 -c 'import json,sys; [print(" ", e["kind"], e["name"]) for e in json.load(sys.stdin)["entries"]]'
echo "== tree: /files/notes/"
curl -sf -H "$auth" "$url/v1/tree/files/notes/" | python3 -c 'import json,sys; [print(" ", e["kind"], e["name"]) for e in json.load(sys.stdin)["entries"]]'
echo "== a bad query"
curl -s -H "$auth" "$url/v1/search?q=$(q 'year>=')"; echo
echo "== stats"
curl -sf -H "$auth" "$url/v1/stats" | show
