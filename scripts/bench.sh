#!/usr/bin/env bash
# Side-by-side benchmarks of onair against what a user would otherwise run
# (ffmpeg, ffprobe). Needs hyperfine, ffmpeg and ffprobe (Debian packages).
# Usage: scripts/bench.sh [testmedia|scan|remux|all]   (results in docs/BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
make -s build
bin=$PWD/bin/onair
for t in hyperfine ffmpeg ffprobe; do
  command -v "$t" >/dev/null || { echo "bench: $t not found (apt-get install -y $t)" >&2; exit 1; }
done
echo "bench: work directory $work"

if [[ $what == testmedia || $what == all ]]; then
  # The whole sample library, and one 150 s 640x360 clip against ffmpeg making
  # a similar clip (testsrc2, x264 ultrafast, AAC).
  hyperfine -w 1 -r 5 --export-markdown "$work/testmedia.md" \
    -p "rm -rf $work/lib" -n "onair testmedia (sample library)" "$bin testmedia --out $work/lib" \
    -n "onair testmedia --clip 150 s" "$bin testmedia --clip $work/clip.ts --duration 150s" \
    -n "ffmpeg testsrc2 + x264 ultrafast + aac, 150 s" \
    "ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25 -f lavfi -i sine=r=48000 -t 150 -c:v libx264 -preset ultrafast -g 50 -c:a aac $work/ff.ts"
  ls -l "$work/clip.ts" "$work/ff.ts"
  "$bin" testmedia --out "$work/lib" | tail -1
fi

if [[ $what == scan || $what == all ]]; then
  # 1,000 distinct clips (2 s, 320x180, H.264 + AAC).
  if [[ ! -d $work/scanlib ]]; then
    mkdir -p "$work/scanlib/ads"
    for i in $(seq -w 0 999); do
      "$bin" testmedia --clip "$work/scanlib/ads/ad-$i.ts" --duration 2s --size 320x180 --seed "$((10#$i))" >/dev/null
    done
  fi
  hyperfine -w 1 -r 5 --export-markdown "$work/scan.md" \
    -p "rm -rf $work/scandata" -n "onair library scan (first scan, 1000 files)" \
    "$bin library scan --data $work/scandata --library $work/scanlib" \
    -n "onair library scan (rescan, nothing changed)" "$bin library scan --data $work/scandata2 --library $work/scanlib" \
    -n "ffprobe -show_streams -show_format per file" \
    "for f in $work/scanlib/ads/*.ts; do ffprobe -v error -show_streams -show_format \$f >/dev/null; done" \
    -n "ffprobe keyframe list per file" \
    "for f in $work/scanlib/ads/*.ts; do ffprobe -v error -select_streams v -show_entries packet=pts,pos,flags -of csv \$f >/dev/null; done"
fi

if [[ $what == remux || $what == all ]]; then
  # A 10-minute 1080p H.264/AAC file at about 5 Mbit/s, made with x264.
  src=$work/src1080.ts
  if [[ ! -f $src ]]; then
    echo "bench: encoding the 10-minute 1080p source (takes a few minutes)"
    ffmpeg -v error -y -f lavfi -i testsrc2=s=1920x1080:r=25 -f lavfi -i sine=r=48000 -t 600 \
      -c:v libx264 -preset ultrafast -b:v 5M -maxrate 5M -bufsize 10M -g 50 -bf 0 -c:a aac -b:a 128k "$src"
  fi
  ls -l "$src"
  cp "$src" /dev/shm/onair-bench-src.ts && src=/dev/shm/onair-bench-src.ts
  hyperfine -w 1 -r 5 --export-markdown "$work/remux.md" \
    -n "onair remux" "$bin remux $src /dev/shm/onair-bench-out.ts" \
    -n "ffmpeg -c copy -f mpegts" "ffmpeg -v error -y -i $src -c copy -f mpegts /dev/shm/onair-bench-ff.ts"
  rm -f /dev/shm/onair-bench-*.ts
fi
cat "$work"/*.md
