#!/usr/bin/env bash
# load-1000.sh: the long load run of docs/OPERATIONS.md, not part of CI.
#
# Builds onair, makes CHANNELS channel files (copies of the samples in
# channels.d under new ids and numbers), serves them from the sample library
# on 127.0.0.1 only, and runs `onair load` with VIEWERS HLS viewers for
# DURATION with a RAMP. Prints the load report and a few server metrics, and
# exits non-zero on any error or missed segment.
#
#   scripts/load-1000.sh                       # 1000 viewers, 100 channels, 10m
#   VIEWERS=200 CHANNELS=20 DURATION=2m scripts/load-1000.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-1000}
CHANNELS=${CHANNELS:-100}
DURATION=${DURATION:-10m}
RAMP=${RAMP:-60s}
PORT=${PORT:-18080}
LIBRARY=${LIBRARY:-testmedia/library}
OUT=${OUT:-$(mktemp -d /tmp/onair-load.XXXXXX)}

make -s build
if [ ! -f "$LIBRARY/.complete" ]; then
  ./bin/onair testmedia --out "$LIBRARY" && touch "$LIBRARY/.complete"
fi
mkdir -p "$OUT/channels.d" "$OUT/data"
samples=(channels.d/*.yaml)
for i in $(seq 1 "$CHANNELS"); do
  src=${samples[$(( (i - 1) % ${#samples[@]} ))]}
  id=$(basename "$src" .yaml)-$(printf '%03d' "$i")
  sed -E "s/^number: .*/number: \"$((1000 + i))\"/" "$src" > "$OUT/channels.d/$id.yaml"
done
./bin/onair channels check "$OUT/channels.d"

./bin/onair serve --http "127.0.0.1:$PORT" --data "$OUT/data" --library "$LIBRARY" \
  --channels "$OUT/channels.d" --rtsp "" --rtsp-udp 0 --log-level warn \
  >"$OUT/serve.out" 2>"$OUT/serve.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 600); do
  kill -0 $pid 2>/dev/null || { echo "onair serve exited:"; tail -5 "$OUT/serve.log"; exit 1; }
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS "$base/readyz"
# A new channel has no segment until its first one has ended: wait for all.
for f in "$OUT"/channels.d/*.yaml; do
  id=$(basename "$f" .yaml)
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "$base/channels/$id/index.m3u8" 2>/dev/null; then break; fi
    sleep 0.5
  done
done
echo "load: $VIEWERS viewers on $CHANNELS channels for $DURATION (ramp $RAMP); output in $OUT"
status=0
./bin/onair load --url "$base" --viewers "$VIEWERS" --duration "$DURATION" --ramp "$RAMP" | tee "$OUT/load.txt" || status=$?
curl -fsS "$base/metrics" >"$OUT/metrics.txt"
grep -E '^onair_(segment_cache_(bytes|entries)|http_requests_in_flight|segment_prefetches_dropped_total) |^process_resident_memory_bytes |^process_cpu_seconds_total ' "$OUT/metrics.txt" || true
awk '/^onair_segment_cache_requests_total/ { split($1, a, "result=\""); r = substr(a[2], 1, 4); n[r] += $2 }
     END { printf "segment cache: %d hits, %d misses\n", n["hit\""] + n["hit"], n["miss"] }' "$OUT/metrics.txt" || true
awk '/^onair_segment_generation_seconds_(sum|count)/ { if ($1 ~ /_sum/) s += $2; else c += $2 }
     END { if (c) printf "segment generation: %d, mean %.2f ms\n", c, 1000 * s / c }' "$OUT/metrics.txt" || true
awk '/^onair_tr101290_priority_errors_total/ { e += $2 } END { printf "TR 101 290 priority 1+2 errors: %d\n", e }' "$OUT/metrics.txt" || true
exit $status
