#!/usr/bin/env bash
# The split layout against the all-in-one server: GET and PUT 64 MiB through
# a gateway whose blobstore nodes are other processes (bytes really cross
# gRPC over loopback), with 1+0 coding on one blobstore process and 4+2
# coding over six, next to the all-in-one server (whose gateway moves shard
# bytes in-process). All three layouts run at once on loopback and the
# cases are interleaved (all-in-one, split 1+0, split 4+2, again...), so the
# machine's noise hits all of them; it prints a table and the ratios
# split/all-in-one. Not run in CI: `make bench-split`.
#
#   bench/split.sh                                # from the project root
#   CASES="get64m" REPS=3 DUR=15s bench/split.sh
#
# CASES  any of: put64m get64m (default: both)    REPS  repetitions (2)
# DUR    measured seconds per run (10s)            OUT   results folder (a new temp dir)
# SHARED the shared folder with bench/s3load (../shared)
# COFFER_BIN  a coffer binary (else built)
# Ports 127.0.0.1:19500-19599. Every run is bounded in time; every process
# started here is stopped by its PID at the end.
set -euo pipefail
ROOT="$(pwd)"
SHARED=${SHARED:-../shared}
CASES=${CASES:-put64m get64m}
REPS=${REPS:-2}
DUR=${DUR:-10s}
OUT=${OUT:-$(mktemp -d /tmp/coffer-split.XXXXXX)}
AK=benchKey0001benchKey01 SK=benchSecret0001benchSecret0001bench
mkdir -p "$OUT"

COFFER_BIN=${COFFER_BIN:-$OUT/coffer}
[[ -x $COFFER_BIN ]] || (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$COFFER_BIN" ./services/cmd/coffer)
(cd "$SHARED/bench/s3load" && go build -o "$OUT/s3load" . && go build -o "$OUT/perfsum" ./cmd/perfsum)

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# serve NAME BASEPORT ROLES [flags...]: one coffer process on
# BASEPORT (gRPC), +1 (admin), +2 (Raft), +3 (HTTP, gateways only).
serve() {
  local name=$1 base=$2 roles=$3
  shift 3
  mkdir -p "$OUT/$name"
  COFFER_ACCESS_KEY_ID=$AK COFFER_SECRET_ACCESS_KEY=$SK "$COFFER_BIN" serve --roles="$roles" --data-dir "$OUT/$name" \
    --grpc-addr "127.0.0.1:$base" --admin-addr "127.0.0.1:$((base + 1))" --metadata.raft-addr "127.0.0.1:$((base + 2))" \
    --http-addr "127.0.0.1:$((base + 3))" "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  echo "$!" >"$OUT/$name.pid"
}

ready() { # ready ADMINPORT...
  for port in "$@"; do
    for _ in $(seq 150); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" || { echo "a process on admin port $port did not start: see $OUT/*.log" >&2; exit 1; }
  done
}

# All-in-one.
serve aio 19500 all
# Split 1+0: metadata (with authd and corsd), one blobstore, one gateway.
serve s1-meta 19510 metadata,authd,corsd
ready 19511
serve s1-blob 19514 blobstore --metadata-addrs 127.0.0.1:19510 --blobstore-addrs 127.0.0.1:19514
ready 19515
serve s1-gw 19520 gateway --metadata-addrs 127.0.0.1:19510 --authd-addrs 127.0.0.1:19510 --corsd-addrs 127.0.0.1:19510 \
  --blobstore-addrs 127.0.0.1:19514
# Split 4+2: metadata, six blobstore processes, one gateway coding 4+2.
serve s6-meta 19530 metadata,authd,corsd
ready 19531
BLOBS=""
for i in 0 1 2 3 4 5; do BLOBS+="${BLOBS:+,}127.0.0.1:$((19540 + 4 * i))"; done
for i in 0 1 2 3 4 5; do
  serve "s6-blob$i" $((19540 + 4 * i)) blobstore --metadata-addrs 127.0.0.1:19530 --blobstore-addrs "$BLOBS"
done
for i in 0 1 2 3 4 5; do ready $((19541 + 4 * i)); done
serve s6-gw 19570 gateway --metadata-addrs 127.0.0.1:19530 --authd-addrs 127.0.0.1:19530 --corsd-addrs 127.0.0.1:19530 \
  --blobstore-addrs "$BLOBS" --ec.data-shards 4 --ec.parity-shards 2
ready 19501 19521 19571

# name mode size concurrency keys
ALL="put64m:put:64MiB:4:8 get64m:get:64MiB:4:8"
LAYOUTS="aio:19503:$(cat "$OUT/aio.pid") split-1+0:19523:$(cat "$OUT/s1-gw.pid") split-4+2:19573:$(cat "$OUT/s6-gw.pid")"
for c in $ALL; do
  IFS=: read -r name mode size conc keys <<<"$c"
  [[ " $CASES " == *" $name "* ]] || continue
  for rep in $(seq "$REPS"); do
    for l in $LAYOUTS; do
      IFS=: read -r label port pid <<<"$l"
      echo "== $name $rep/$REPS $label (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      "$OUT/s3load" -mode "$mode" -endpoint "http://127.0.0.1:$port" -access-key "$AK" -secret-key "$SK" -bucket coffer-split \
        -size "$size" -concurrency "$conc" -duration "$DUR" -warmup 2s -keys "$keys" -server-pid "$pid" -label "$label" \
        -quiet | sed -n 's/^RESULT //p' >>"$OUT/results.jsonl" || echo "run failed: $name $label" >&2
    done
  done
done

"$OUT/perfsum" "$OUT/results.jsonl"
python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    if not r.get("errors"):
        by.setdefault(r["mode"] + "64m", {}).setdefault(r["label"], []).append(r["mib_per_s"])
for case, d in by.items():
    if "aio" not in d:
        continue
    base = st.median(d["aio"])
    print(f"{case}: all-in-one {base:.0f} MiB/s; " + "  ".join(
        f"{label} {st.median(v):.0f} MiB/s = {st.median(v) / base:.2f}x" for label, v in d.items() if label != "aio"))
PY
echo "results: $OUT (server CPU is the gateway process's alone for the split layouts)" >&2
