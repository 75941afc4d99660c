#!/usr/bin/env bash
# Packs what a GPU machine needs to test nailtrt's GPU path into one archive of at most
# 64 MiB (what a lent GPU machine takes a call; docs/gpu.md): the stripped nailtrt binary,
# the runner libraries with their ONNX Runtime, the native test binaries (and the CUDA
# timing tool), `go test -c` binaries of the packages whose tests touch CUDA streams,
# pinned buffers or the pipeline the kernels mirror, the fixtures those tests read, the
# bundled model, and run.sh, the one command that runs it all there and writes a report.
#
#   tools/gpu/pack.sh [out-dir]      (make gpu-bundle; default out-dir build/gpu-bundle)
#
# The runner must be the CUDA build (make check-cuda installs the toolkit, then make
# native): a CPU-only build would carry nothing a GPU could test. NAILTRT_BUNDLE_CPU=1
# packs one anyway (its GPU tests then skip, saying the build has no CUDA).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/gpu-bundle}
NATIVE=${NATIVE:-$ROOT/build/native}
GO=${GO:-go}
LIMIT=$((64 * 1024 * 1024))
NAME=nailtrt-gpu
STAGE=$OUT/$NAME
# Packages whose tests exercise what the GPU changes: trt (CUDA streams, pinned buffers,
# the context pool, TensorRT when present), nails (the goldens the kernels' references
# are held to) and nails/segment (the pipeline through the runner: batching, lanes,
# pooled decodes, the fixture models). A test binary is named for its package with "/"
# as "_" (nails_segment.test); run.sh maps it back.
GO_PACKAGES=(trt nails nails/segment)
NATIVE_TESTS=(nailtrt_unit_tests nailtrt_abi_tests nailtrt_pixel_tests)

cd "$ROOT"
[ -f "$NATIVE/lib/libnailtrt.so" ] || { echo "pack: $NATIVE/lib/libnailtrt.so is missing: run make native" >&2; exit 1; }
if [ ! -f "$NATIVE/native/libnailtrt_cuda.a" ] && [ "${NAILTRT_BUNDLE_CPU:-}" != 1 ]; then
  echo "pack: $NATIVE is a CPU-only build (no nailtrt_cuda): run make check-cuda, then make native" >&2
  echo "      (NAILTRT_BUNDLE_CPU=1 packs it anyway)" >&2
  exit 1
fi

rm -rf "$STAGE" "$OUT/$NAME.tar.xz"
mkdir -p "$STAGE"/{bin,lib,tests/native,tests/go,src}

echo "pack: nailtrt (stripped)"
$GO build -trimpath -ldflags "-s -w" -o "$STAGE/bin/nailtrt" ./cmd/nailtrt

echo "pack: runner libraries"
for lib in libnailtrt.so libnailtrt_tensorrt.so; do
  [ -f "$NATIVE/lib/$lib" ] && strip --strip-unneeded -o "$STAGE/lib/$lib" "$NATIVE/lib/$lib"
done
cp "$NATIVE/lib/libonnxruntime.so.1" "$STAGE/lib/"

echo "pack: native tests"
for t in "${NATIVE_TESTS[@]}" nailtrt_cuda_bench; do
  if [ -f "$NATIVE/native/$t" ]; then
    strip --strip-unneeded -o "$STAGE/tests/native/$t" "$NATIVE/native/$t"
  fi
done

for pkg in "${GO_PACKAGES[@]}"; do
  echo "pack: go test -c ./$pkg"
  mkdir -p "$STAGE/src/$pkg" # where the binary runs from
  $GO test -c -trimpath -ldflags "-s -w" -o "$STAGE/tests/go/${pkg//\//_}.test" "./$pkg"
done

echo "pack: fixtures and the bundled model"
# The Go tests run from src/<package>, so the tree keeps the repository's layout.
copy() { mkdir -p "$STAGE/src/$(dirname "$1")" && cp -r "$1" "$STAGE/src/$1"; }
copy go.mod # tests find the committed files from the folder holding it (internal/testimg.Root)
copy trt/testdata
copy nails/testdata
copy native/tests/testdata/cuda
copy docs/gallery/hand1-before-after.jpg
copy docs/examples/hand.jpg
copy engines/nailseg.json
copy engines/nailseg.onnx

cp tools/gpu/run.sh "$STAGE/run.sh"
{
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "go: $($GO version)"
  echo "cuda: $(sed -n 's/^set(CMAKE_CUDA_COMPILER_VERSION "\(.*\)")/\1/p' "$NATIVE"/CMakeFiles/*/CMakeCUDACompiler.cmake 2>/dev/null | head -1)"
  if command -v cuobjdump >/dev/null && [ -f "$NATIVE/native/libnailtrt_cuda.a" ]; then
    echo "kernels for: $(cuobjdump --list-elf "$NATIVE/native/libnailtrt_cuda.a" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')"
  fi
  echo "glibc: $(ldd --version | head -1)"
} > "$STAGE/BUILD-INFO"
(cd "$STAGE" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)

echo "pack: compressing"
tar -C "$OUT" -cf - "$NAME" | xz -T0 -6 > "$OUT/$NAME.tar.xz"
size=$(stat -c %s "$OUT/$NAME.tar.xz")
du -sh --apparent-size "$STAGE" | awk '{print "pack: unpacked " $1}'
awk -v f="$OUT/$NAME.tar.xz" -v s="$size" 'BEGIN { printf "pack: %s (%.1f MiB of 64 MiB)\n", f, s / 1048576 }'
if [ "$size" -gt "$LIMIT" ]; then
  echo "pack: over the 64 MiB limit; the largest files:" >&2
  (cd "$STAGE" && find . -type f -printf '%s %p\n' | sort -rn | head -8) >&2
  exit 1
fi
echo "on the GPU machine: tar xJf $NAME.tar.xz && $NAME/run.sh [report-dir]"
