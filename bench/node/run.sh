#!/usr/bin/env bash
# Load benchmark of the node: requests/s and latency p50/p99 for memory search and for short chat
# completions at 1, 8 and 64 concurrent clients, with wrk (Debian's package) from a second
# process on loopback. Counts every response's status: the only refusals expected are the
# deliberate 429s (generation slots and queues are bounded). Prints a Markdown table. wrk does
# not honour Retry-After: a refused client asks again at once, so past capacity the responses/s
# are mostly fast 429s and the latency percentiles mix both; "answered/s" counts the 200s.
#
# Usage: bench/node/run.sh [SECONDS]   (default 10 per run; needs the release binary or builds it)
# Env: HEARTH_BIN (default target/release/hearth), PORT (default 8437).
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$here/../.." && pwd)"
secs="${1:-10}"
port="${PORT:-8437}"
command -v wrk >/dev/null || { echo "run.sh: install wrk (apt-get install wrk)" >&2; exit 2; }
hearth="${HEARTH_BIN:-$repo/target/release/hearth}"
[[ -x "$hearth" ]] || (cd "$repo" && cargo build --release --locked -p hearth-web)

work="$(mktemp -d)"
node_pid=""
trap '[[ -n "$node_pid" ]] && kill "$node_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export HEARTH_VAULT="$work/vault" HEARTH_PASSPHRASE=bench
"$hearth" init >/dev/null
for e in "examples/whatsapp/WhatsApp Chat with Inês.txt" examples/whatsapp-ios examples/telegram \
  examples/twitter examples/journal; do
  "$hearth" import "$repo/$e" --tz Europe/Lisbon --me "Maya Lindqvist" --json >/dev/null
done
export TOKEN
TOKEN="$("$hearth" grant issue --app bench --allow memories.search,model.chat --expires 1d --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
"$hearth" serve --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 1; done
grep -q "listening on" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }
model="$(curl -s "http://127.0.0.1:$port/v1/models" -H "Authorization: Bearer $TOKEN" |
  python3 -c 'import json,sys; print([m["id"] for m in json.load(sys.stdin)["data"] if m["id"] != "persona"][0])')"

echo "| endpoint | clients | answered (200)/s | responses/s | p50 ms | p99 ms | statuses | socket errors |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
run() { # name path body clients
  local threads=$(( $4 < 2 ? $4 : 2 ))
  local line
  line="$(BODY="$3" wrk -t"$threads" -c"$4" -d"${secs}s" --timeout 60s -s "$here/post.lua" \
    "http://127.0.0.1:$port$2" | grep '^RESULT ' | cut -d' ' -f2-)"
  python3 - "$1" "$4" "$line" <<'PY'
import json, sys
name, clients, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
st = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
ok = r["statuses"].get("200", 0) / r["seconds"]
print(f"| {name} | {clients} | {ok:.1f} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {st} | {r['socket_errors']} |")
PY
}
search='{"query": "climbing with Duarte at the gym", "k": 10}'
chat="{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Say hello.\"}], \"max_tokens\": 8, \"temperature\": 0}"
for c in 1 8 64; do run "POST /v1/memories/search (k=10)" /v1/memories/search "$search" "$c"; done
for c in 1 8 64; do run "POST /v1/chat/completions (8 tokens)" /v1/chat/completions "$chat" "$c"; done
