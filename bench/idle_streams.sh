#!/usr/bin/env bash
# What idle delivery streams cost (issue 8: "costs must not grow with what is idle"): N streams
# from a config file, none receiving records. Prints, per N: first start and restart time, the
# server's threads, RSS and open files once settled, the threads while 10 streams receive
# records, and how long SIGTERM takes. Round 1 (two threads per stream) measured 500 streams at
# 1,003 threads and a 13-19 s SIGTERM; the targets are 10,000 idle streams in < 64 threads and
# < 256 MiB RSS, and SIGTERM < 2 s whatever the count.
#
# Environment: BUILD_DIR (default build), BENCH_QUICK=1 (200 streams only), IDLE_COUNTS (e.g.
# "500 10000"), BENCH_DIR (where data goes; default $BUILD_DIR).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build_dir="${BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
sluice="$build_dir/src/cli/sluice"
[[ -x "$sluice" ]] || { echo "idle_streams: no $sluice (build first)" >&2; exit 1; }
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then counts="${IDLE_COUNTS:-200}"; else counts="${IDLE_COUNTS:-500 10000}"; fi
base="${BENCH_DIR:-$build_dir}"
mkdir -p "$base"

now_ms() { date +%s%3N; }
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }

# Starts `sluice serve` on $dir; sets pid and elapsed (the start-up time in ms).
start_server() {
  rm -f "$dir/ready"
  local t0; t0=$(now_ms)
  "$sluice" serve --config "$dir/sluice.yaml" --listen 127.0.0.1:0 --data-dir "$dir/var" \
    --ready-file "$dir/ready" >/dev/null 2>>"$dir/log" &
  pid=$!
  for _ in $(seq 1 6000); do [[ -s "$dir/ready" ]] && break; kill -0 "$pid" || { tail "$dir/log" >&2; exit 1; }; sleep 0.02; done
  [[ -s "$dir/ready" ]] || { echo "idle_streams: server did not start" >&2; exit 1; }
  elapsed=$(($(now_ms) - t0))
}

stop_server() {
  local t0; t0=$(now_ms)
  kill -TERM "$pid"
  wait "$pid" || { echo "idle_streams: serve exited non-zero" >&2; exit 1; }
  elapsed=$(($(now_ms) - t0))
}

printf '%-8s %-10s %-10s %-9s %-9s %-8s %-14s %-11s\n' streams start_ms restart_ms threads rss_mib fds busy10_threads sigterm_ms
for n in $counts; do
  dir="$(mktemp -d "$base/idle_streams.XXXXXX")"
  {
    echo "server: {max_delivery_streams: $n}"
    echo "delivery_streams:"
    for i in $(seq 1 "$n"); do echo "  - {name: s$i, buffering: {size_mb: 1, interval_s: 1}}"; done
  } >"$dir/sluice.yaml"
  start_server
  first=$elapsed
  stop_server
  start_server
  restart=$elapsed
  sleep 3  # threads started by recovery linger 1 s, then exit
  threads=$(field Threads "$pid")
  rss_kb=$(field VmRSS "$pid")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  endpoint="http://$(cat "$dir/ready")"
  for i in $(seq 1 10); do printf '{"n":%d}\n' "$i" | "$sluice" put --stream "s$i" --endpoint "$endpoint" --no-progress 2>/dev/null; done
  busy=$(field Threads "$pid")
  stop_server
  sigterm=$elapsed
  printf '%-8s %-10s %-10s %-9s %-9s %-8s %-14s %-11s\n' "$n" "$first" "$restart" "$threads" \
    $((rss_kb / 1024)) "$fds" "$busy" "$sigterm"
  rm -rf "$dir"
done
