#!/usr/bin/env bash
# HTTP/2 (h2c, prior knowledge) vs HTTP/1.1 requests/s on one `sluice serve` port (issue 10), with
# h2load (Debian's nghttp2-client). A fresh server gets one Kinesis stream (`CreateStream` sent by
# h2load --h1 itself), then h2load sends the same small request, Kinesis_20131202.
# DescribeStreamSummary (override: H2LOAD_TARGET=ListStreams with body {}), three ways:
#   h1       --h1, -c C connections, one request at a time per connection (-m 1)
#   h1-pipe  --h1, -c C connections, M pipelined requests per connection (-m M)
#   h2c      -c C connections, M concurrent streams per connection (-m M)
# h2c runs only when the server answers it: a probe of 20 h2c requests must all succeed with 2xx,
# otherwise the h2c row is skipped with h2load's own summary line (it is never estimated).
#
# Environment: BUILD_DIR (default build), BENCH_QUICK=1 (short run), H2LOAD_N (requests per row),
# H2LOAD_C (connections, default 4), H2LOAD_M (streams/pipeline depth, default 16),
# H2LOAD_THREADS (h2load -t, default 1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build_dir="${BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
sluice="$build_dir/src/cli/sluice"
quick="${BENCH_QUICK:-0}"
if [[ "$quick" == 1 ]]; then n_default=5000; else n_default=200000; fi
n="${H2LOAD_N:-$n_default}"
c="${H2LOAD_C:-4}"
m="${H2LOAD_M:-16}"
threads="${H2LOAD_THREADS:-1}"
op="${H2LOAD_TARGET:-DescribeStreamSummary}"

if ! command -v h2load >/dev/null 2>&1; then
  echo "h2load_bench: skipped (no h2load; it is in Debian's nghttp2-client, see scripts/install-deps)"
  exit 0
fi
if [[ ! -x "$sluice" ]]; then
  echo "h2load_bench: skipped (no sluice binary at $sluice)"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/h2load_bench.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$sluice" serve --listen 127.0.0.1:0 --data-dir "$work/data" --ready-file "$work/ready" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 500); do
  [[ -s "$work/ready" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "h2load_bench: sluice serve exited before it was ready:"; cat "$work/server.log"; exit 1
  fi
  sleep 0.02
done
addr="$(tr -d '\n' <"$work/ready")"
[[ -n "$addr" ]] || { echo "h2load_bench: no ready file after 10 s"; exit 1; }
url="http://$addr/"

# h2load's numbers from its summary: "requests: T total, S started, D done, OK succeeded, ...".
succeeded() { sed -n 's/^requests: .* \([0-9][0-9]*\) succeeded.*/\1/p' <<<"$1"; }
ok_2xx() { sed -n 's/^status codes: \([0-9][0-9]*\) 2xx.*/\1/p' <<<"$1"; }
req_s() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$1"; }
mean_ms() {
  # "time for request:  min max mean sd"; h2load prints us or ms units.
  awk '/^time for request:/ { v = $6; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
       else if (v ~ /ms$/) sub(/ms$/, "", v); else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
       printf "%.2f", v }' <<<"$1"
}
target_header=(-H "x-amz-target: Kinesis_20131202.$op" -H "content-type: application/x-amz-json-1.1")

printf '{"StreamName":"h2load","ShardCount":1}' >"$work/create.json"
if [[ "$op" == ListStreams ]]; then printf '{}' >"$work/body.json"; else printf '{"StreamName":"h2load"}' >"$work/body.json"; fi
out="$(h2load --h1 -n 1 -c 1 -d "$work/create.json" \
  -H "x-amz-target: Kinesis_20131202.CreateStream" -H "content-type: application/x-amz-json-1.1" "$url" 2>&1)"
if [[ "$(ok_2xx "$out")" != 1 ]]; then
  echo "h2load_bench: CreateStream failed:"; echo "$out" | tail -8; exit 1
fi

echo "h2load_bench: $op against $url; $n requests per row, $c connections, -m $m, $threads h2load thread(s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %12s %14s %10s %10s %8s\n' protocol requests/s succeeded "mean ms" "-m" load1
status=0
row() {
  local name="$1"; shift
  local depth="$1"; shift
  local load1; load1="$(cut -d' ' -f1 /proc/loadavg)"
  local out
  out="$(h2load "$@" -n "$n" -c "$c" -m "$depth" -t "$threads" -d "$work/body.json" "${target_header[@]}" "$url" 2>&1)" || true
  local ok; ok="$(succeeded "$out")"
  printf '%-8s %12s %14s %10s %10s %8s\n' "$name" "$(req_s "$out")" "${ok:-0}/$n" "$(mean_ms "$out")" "$depth" "$load1"
  if [[ "${ok:-0}" != "$n" || "$(ok_2xx "$out")" != "$n" ]]; then
    echo "  not every request succeeded with 2xx: $(grep -E '^(requests|status codes):' <<<"$out" | tr '\n' ' ')"
    status=1
  fi
}
row h1 1 --h1
row h1-pipe "$m" --h1

probe="$(h2load -n 20 -c 1 -m 4 -d "$work/body.json" "${target_header[@]}" "$url" 2>&1)" || true
if [[ "$(succeeded "$probe")" == 20 && "$(ok_2xx "$probe")" == 20 ]] &&
  grep -q '^Application protocol: h2c' <<<"$probe"; then
  row h2c "$m"
else
  echo "h2c      skipped: the server does not answer HTTP/2 with prior knowledge (h2load probe: $(grep -E '^requests:' <<<"$probe" || echo "${probe##*$'\n'}"))"
fi
exit "$status"
