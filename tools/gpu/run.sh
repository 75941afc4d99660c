#!/usr/bin/env bash
# Runs everything in this bundle (tools/gpu/pack.sh made it) and writes a report:
#
#   ./run.sh [report-dir]        (default: $OUT when set, else ./report beside this script)
#
# Needs only bash and coreutils (curl or python3 for the server checks; nvidia-smi and
# compute-sanitizer are used when present). On a machine without a GPU every GPU part
# skips and says why, so the same command rehearses anywhere. Exit status: 1 when a test
# failed, else 0; report.md always gets written.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPORT=${1:-${OUT:-$HERE/report}}
mkdir -p "$REPORT"
REPORT=$(cd "$REPORT" && pwd)
MD=$REPORT/report.md
BODY=$REPORT/.report-body.md
export LD_LIBRARY_PATH=$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export NAILTRT_FIXTURES=$HERE/src/trt/testdata
export NAILTRT_GOLDENS=$HERE/src/native/tests/testdata/cuda
export NAILTRT_ENGINE_CACHE=$REPORT/engine-cache
failed=0
summary=()

say() { printf '%s\n' "$*" >> "$BODY"; }
block() { say '```'; cat >> "$BODY"; say '```'; }
note() { summary+=("| $1 | $2 |"); }

: > "$BODY"

# ------------------------------------------------------------------ machine
say "## Machine"
{
  uname -srm
  grep -h '^PRETTY_NAME' /etc/os-release 2>/dev/null
  echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
  ldd --version 2>/dev/null | head -1
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,memory.used,temperature.gpu,utilization.gpu --format=csv 2>&1
  else
    echo "nvidia-smi: not found"
  fi
  echo "libraries the binaries cannot find:"
  for f in "$HERE"/bin/* "$HERE"/lib/*.so* "$HERE"/tests/native/*; do
    ldd "$f" 2>&1 | grep 'not found' | sed "s|^|  $(basename "$f"): |"
  done
} 2>&1 | block
say ""

# ------------------------------------------------------------------ native tests
say "## Native tests (GoogleTest)"
for t in "$HERE"/tests/native/nailtrt_*_tests; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" --gtest_color=no > "$REPORT/$name.log" 2>&1
  rc=$?
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$REPORT/$name.log")
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$REPORT/$name.log")
  failures=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$REPORT/$name.log")
  [ $rc -ne 0 ] && failed=1
  status="rc $rc: ${passed:-0} passed, ${skipped:-0} skipped, ${failures:-0} failed"
  note "$name" "$status"
  say "### $name: $status"
  # Each skip's reason is the line after gtest's "Skipped".
  grep -A1 ': Skipped$' "$REPORT/$name.log" | grep -v -e ': Skipped$' -e '^--$' | sort | uniq -c | block
  [ $rc -ne 0 ] && grep -B2 -A8 'Failure\|FAILED' "$REPORT/$name.log" | head -60 | block
done
say ""

# ------------------------------------------------------------------ Go tests
say "## Go tests (go test -c binaries, run from their package folder)"
for t in "$HERE"/tests/go/*.test; do
  [ -x "$t" ] || continue
  name=$(basename "$t" .test); pkg=${name//_//} # nails_segment.test: ./nails/segment
  log="$REPORT/go-$name.log"
  # The README test builds a module with the go command, which a GPU machine lacks.
  (cd "$HERE/src/$pkg" && "$t" -test.v -test.count=1 -test.timeout=8m -test.skip '^TestReadmeGoExampleFromAnotherModule$') \
    > "$log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && failed=1
  p=$(grep -c -- '^--- PASS' "$log")
  s=$(grep -c -- '--- SKIP' "$log")
  f=$(grep -c -- '--- FAIL' "$log")
  status="rc $rc: $p passed, $s skipped (subtests included), $f failed"
  note "go test ./$pkg" "$status"
  say "### ./$pkg: $status"
  # A skip's reason is the last file:line message before its "--- SKIP" (go test -v prints
  # a subtest's messages before its parent's result lines).
  awk '/_test\.go:[0-9]+: / { msg = $0; sub(/^ +/, "", msg) }
       /--- SKIP: / { name = $0; sub(/^ *--- SKIP: /, "", name); sub(/ \(.*$/, "", name); print name ": " msg; msg = "" }' \
    "$log" | head -20 | block
  [ $rc -ne 0 ] && grep -B2 -A12 -- '--- FAIL' "$log" | head -80 | block
done
say ""

# ------------------------------------------------------------------ compute-sanitizer
say "## compute-sanitizer (the kernel tests)"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
if [ -z "$sanitizer" ]; then
  echo "skipped: compute-sanitizer not found (PATH, /usr/local/cuda*/bin)" | block
  note "compute-sanitizer" "skipped: not found"
elif [ ! -x "$HERE/tests/native/nailtrt_pixel_tests" ]; then
  echo "skipped: nailtrt_pixel_tests not in the bundle" | block
else
  for tool in memcheck racecheck; do
    "$sanitizer" --tool "$tool" --error-exitcode 3 "$HERE/tests/native/nailtrt_pixel_tests" --gtest_filter='*Kernel*' \
      > "$REPORT/sanitizer-$tool.log" 2>&1
    rc=$?
    case $rc in
      0) note "compute-sanitizer $tool" "clean" ;;
      3) note "compute-sanitizer $tool" "FAILED: errors found"; failed=1 ;;
      *) note "compute-sanitizer $tool" "did not run (rc $rc): $(grep -v '^=* *COMPUTE-SANITIZER' "$REPORT/sanitizer-$tool.log" | head -1)" ;;
    esac
    tail -5 "$REPORT/sanitizer-$tool.log" | block
  done
fi
say ""

# ------------------------------------------------------------------ timings
say "## GPU timings (nailtrt_cuda_bench)"
if [ -x "$HERE/tests/native/nailtrt_cuda_bench" ]; then
  "$HERE/tests/native/nailtrt_cuda_bench" > "$REPORT/bench.log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && failed=1
  cat "$REPORT/bench.log" >> "$BODY"
  note "nailtrt_cuda_bench" "rc $rc: $(head -1 "$REPORT/bench.log")"
else
  say "skipped: the bundle has no nailtrt_cuda_bench (the runner was built without CUDA)"
  note "nailtrt_cuda_bench" "skipped: not built"
fi
say ""

# ------------------------------------------------------------------ server
say "## nailtrt info and serve (health, metrics, a request end to end)"
"$HERE/bin/nailtrt" info > "$REPORT/info.log" 2>&1
block < "$REPORT/info.log"
fetch() { # fetch URL [file-to-POST]
  if command -v curl >/dev/null; then
    if [ -n "${2:-}" ]; then curl -s -o "$REPORT/segment.json" -w 'HTTP %{http_code}, %{time_total} s\n' -F "file=@$2" "$1"
    else curl -s "$1"; fi
  elif command -v python3 >/dev/null; then
    python3 - "$1" "${2:-}" "$REPORT/segment.json" <<'PY'
import sys, time, urllib.request, uuid
url, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if not path:
    sys.stdout.write(urllib.request.urlopen(url, timeout=30).read().decode()); sys.exit()
b = uuid.uuid4().hex
body = (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
        'Content-Type: image/jpeg\r\n\r\n').encode() + open(path, 'rb').read() + f'\r\n--{b}--\r\n'.encode()
req = urllib.request.Request(url, body, {'Content-Type': f'multipart/form-data; boundary={b}'})
t = time.time()
with urllib.request.urlopen(req, timeout=60) as r:
    open(out, 'wb').write(r.read()); print(f'HTTP {r.status}, {time.time() - t:.3f} s')
PY
  else
    echo "no curl or python3 to fetch $1"
  fi
}
ready_at() { # exit status 0 when URL answers 2xx
  if command -v curl >/dev/null; then curl -sf -o /dev/null "$1"
  else python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" 2>/dev/null; fi
}
port=${NAILTRT_BUNDLE_PORT:-18080}
# --cache-bytes 1: no result fits, so every request below runs the model.
"$HERE/bin/nailtrt" serve --addr "127.0.0.1:$port" --cache-bytes 1 > "$REPORT/serve.log" 2>&1 &
server=$!
ready=0
for _ in $(seq 1 120); do
  if ready_at "http://127.0.0.1:$port/readyz"; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ $ready = 1 ]; then
  say "### GET /api/health"
  { fetch "http://127.0.0.1:$port/api/health"; echo; } | block
  if [ -x "$HERE/tests/native/nailtrt_cuda_bench" ] && command -v nvidia-smi >/dev/null; then
    "$HERE/tests/native/nailtrt_cuda_bench" --hold-mib 2048 --seconds 6 > "$REPORT/hold.log" 2>&1 &
    holder=$!
    sleep 3
    say "### GET /api/health while another process holds 2 GiB of device memory"
    { fetch "http://127.0.0.1:$port/api/health"; echo; } | block
    wait $holder
  fi
  say "### GET /metrics (GPU and inference lines)"
  fetch "http://127.0.0.1:$port/metrics" | grep -i 'gpu\|backend\|inference' | head -40 | block
  say "### POST /api/nails/segment (docs/gallery/hand1-before-after.jpg), three times, uncached"
  for _ in 1 2 3; do fetch "http://127.0.0.1:$port/api/nails/segment" "$HERE/src/docs/gallery/hand1-before-after.jpg"; done | block
  { head -c 600 "$REPORT/segment.json"; echo; } | block
  note "nailtrt serve" "ready; health, metrics and segment fetched"
else
  say "the server did not become ready in 60 s; its log:"
  tail -30 "$REPORT/serve.log" | block
  note "nailtrt serve" "FAILED: not ready in 60 s"
  failed=1
fi
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
say ""

# ------------------------------------------------------------------ summary
{
  echo "# nailtrt GPU bundle report"
  echo ""
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); the bundle: $(sed 's/$/;/' "$HERE/BUILD-INFO" | tr '\n' ' ')"
  echo ""
  echo "## Summary"
  echo ""
  echo "| step | result |"
  echo "|---|---|"
  printf '%s\n' "${summary[@]}"
  echo ""
  cat "$BODY"
} > "$MD" && rm -f "$BODY"
echo "report: $MD ($( [ $failed = 0 ] && echo 'no failures' || echo 'FAILURES'))"
exit $failed
