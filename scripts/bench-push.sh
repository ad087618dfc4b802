#!/usr/bin/env bash
# CPU of the server per watched channel on a push output (docs/BENCHMARKS.md).
#
#   scripts/bench-push.sh N MODE [SECONDS]
#
# N channels (two 120 s 1280x720 H.264 + AAC items at 5.3 Mbit/s each, made
# with ffmpeg on first use), one viewer each, for MODE:
#   ts    curl reads /channels/{id}.ts
#   tcp   ffmpeg reads rtsp://.../{id} over TCP (-c copy -f null)
#   udp   the same over UDP
#   idle  no viewer (the server's own cost with N channels)
# After a 20 s warm-up it prints the server's CPU time over SECONDS (default
# 40) from /proc/PID/stat, as a percentage of one core and per channel, and
# the number of error lines the viewers printed.
set -euo pipefail
N=${1:?usage: bench-push.sh N ts|tcp|udp|idle [SECONDS]}
MODE=${2:?usage: bench-push.sh N ts|tcp|udp|idle [SECONDS]}
SECS=${3:-40}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-${TMPDIR:-/tmp}/onair-bench-push}
HTTP=127.0.0.1:18081 RTSP=127.0.0.1:18554
mkdir -p "$W/lib/shows"
for f in a b; do
  if [ ! -s "$W/lib/shows/$f.ts" ]; then
    echo "making $W/lib/shows/$f.ts (120 s, 1280x720, 5.3 Mbit/s)..." >&2
    ffmpeg -nostdin -loglevel error -y \
      -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
      -t 120 -vf "noise=alls=12:allf=t+u" -c:v libx264 -preset veryfast -profile:v baseline -g 60 \
      -b:v 5M -maxrate 5M -bufsize 5M -c:a aac -b:a 128k -f mpegts "$W/lib/shows/$f.ts"
  fi
done
(cd "$ROOT" && go build -o "$W/onair" ./cmd/onair)
rm -rf "$W/ch" "$W/data" "$W"/viewer*.err
mkdir -p "$W/ch" "$W/data"
for i in $(seq -w 1 "$N"); do
  printf 'number: "4%s"\nname: Bench %s\nplaylist:\n  - asset: shows/a.ts\n  - asset: shows/b.ts\n' "$i" "$i" >"$W/ch/b$i.yaml"
done
"$W/onair" serve --http $HTTP --data "$W/data" --library "$W/lib" --channels "$W/ch" --rtsp $RTSP \
  --rtsp-udp 18000 --webrtc-udp 18189 --tuners $((N + 10)) --log-level warn >"$W/serve.out" 2>"$W/serve.err" &
SP=$!
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -sf "http://$HTTP/readyz" >/dev/null && break; sleep 0.2; done
if [ "$MODE" != idle ]; then
  for i in $(seq -w 1 "$N"); do
    case $MODE in
      ts) curl -s -o /dev/null "http://$HTTP/channels/b$i.ts" 2>"$W/viewer$i.err" & ;;
      tcp | udp) ffmpeg -nostdin -loglevel error -rtsp_transport "$MODE" -i "rtsp://$RTSP/b$i" -c copy -f null - 2>"$W/viewer$i.err" & ;;
      *) echo "unknown mode $MODE" >&2; exit 2 ;;
    esac
  done
fi
sleep 20
T=$(getconf CLK_TCK)
a=$(awk '{print $14+$15}' /proc/$SP/stat)
sleep "$SECS"
b=$(awk '{print $14+$15}' /proc/$SP/stat)
errs=$( (cat "$W"/viewer*.err 2>/dev/null || true) | wc -l)
awk -v a="$a" -v b="$b" -v t="$T" -v s="$SECS" -v n="$N" -v m="$MODE" -v e="$errs" 'BEGIN {
  pct = 100 * (b - a) / t / s
  printf "%s, %d channels: %.2f%% of a core, %.3f%% per channel, %d viewer error lines\n", m, n, pct, pct / n, e }'
