#!/usr/bin/env bash
# Connector throughput benchmark, through the real `hearth import` (release build).
#
# Generates, in a temporary folder, a WhatsApp Android export of WHATSAPP_LINES lines
# (default 1 000 000) and a Gmail-Takeout-like mbox of MBOX_MIB MiB (default 1024: plain QP,
# multipart/alternative, 8-bit ISO-8859-1, and one message in ten with a 60 KB base64 PDF),
# imports each into a fresh vault (`hearth init --scrypt-log-n 10`), and reports records per
# second parsed and stored, and the import's peak resident memory (`/usr/bin/time -v`).
#
#   bench/connectors/run.sh                         # full size: ~1.1 GB of temporary files
#   WHATSAPP_LINES=100000 MBOX_MIB=100 bench/connectors/run.sh   # a quick check
#
# SKIP_BUILD=1 reuses target/release/hearth; HEARTH_BIN=PATH uses that binary instead (and
# builds nothing); ONLY=whatsapp or ONLY=mbox runs one of the two; KEEP=1 keeps the temporary
# folder; INPUTS=DIR generates the inputs there, once, and reuses them on later runs (delete
# the folder after changing WHATSAPP_LINES or MBOX_MIB).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WHATSAPP_LINES="${WHATSAPP_LINES:-1000000}"
MBOX_MIB="${MBOX_MIB:-1024}"
BIN="${HEARTH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/hearth}"
ONLY="${ONLY:-}"

if [[ -z "${HEARTH_BIN:-}" && "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p hearth-web)
fi
[[ -x "$BIN" ]] || { echo "no $BIN: build it (cargo build --release -p hearth-web)" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
INPUTS="${INPUTS:-$WORK}"
mkdir -p "$INPUTS"
WA_INPUT="$INPUTS/WhatsApp Chat with Inês.txt"
MBOX_INPUT="$INPUTS/All mail Including Spam and Trash.mbox"
export HEARTH_PASSPHRASE="bench passphrase"

measure() { # name input format [import args...]
    local name="$1" input="$2" format="$3"; shift 3
    local vault="$WORK/vault-$name"
    "$BIN" --vault "$vault" init --scrypt-log-n 10 >/dev/null
    local start end
    start=$(date +%s.%N)
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v -o "$WORK/$name.time" \
            "$BIN" --vault "$vault" --json import "$input" --format "$format" "$@" >"$WORK/$name.json"
    else
        "$BIN" --vault "$vault" --json import "$input" --format "$format" "$@" >"$WORK/$name.json"
    fi
    end=$(date +%s.%N)
    python3 - "$name" "$input" "$WORK/$name.json" "$WORK/$name.time" "$start" "$end" <<'PY'
import json, os, sys
name, path, out, timefile, start, end = sys.argv[1:7]
summary = json.load(open(out))
seconds = float(end) - float(start)
peak = "n/a"
if os.path.exists(timefile):
    for line in open(timefile):
        if "Maximum resident set size" in line:
            peak = f"{int(line.split(':')[1]) / 1024:.0f} MiB"
size = os.path.getsize(path) / (1 << 20)
records = summary["imported"]
print(f"{name:9} {size:8.0f} MiB  {records:9d} records  {summary['skipped']:6d} skipped  "
      f"{summary['attachments']:6d} attachments  {seconds:7.1f} s  "
      f"{records / seconds:9.0f} records/s  {size / seconds:6.1f} MiB/s  peak RSS {peak}")
PY
}

echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(uname -sr); hearth $("$BIN" --version 2>/dev/null || echo '?') at $BIN"
echo "load before: $(uptime)"
if [[ "$ONLY" != mbox ]]; then
    if [[ ! -s "$WA_INPUT" ]]; then
        echo "generating in $INPUTS: WhatsApp $WHATSAPP_LINES lines" >&2
        python3 "$ROOT/bench/connectors/generate.py" whatsapp "$WHATSAPP_LINES" "$WA_INPUT" >/dev/null
    fi
    measure whatsapp "$WA_INPUT" whatsapp --tz Europe/Lisbon --me "Maya Lindqvist"
fi
if [[ "$ONLY" != whatsapp ]]; then
    if [[ ! -s "$MBOX_INPUT" ]]; then
        echo "generating in $INPUTS: mbox $MBOX_MIB MiB" >&2
        python3 "$ROOT/bench/connectors/generate.py" mbox "$MBOX_MIB" "$MBOX_INPUT" >/dev/null
    fi
    measure mbox "$MBOX_INPUT" mbox --tz Europe/Lisbon --me maya.lindqvist@gmail.com
fi
echo "load after: $(uptime)"
