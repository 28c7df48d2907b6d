#!/usr/bin/env bash
# Builds and runs the checks of the kernel families (kernels/<family>.cu) against a double-precision
# reference: by default on the host emulator (no GPU needed: one fiber per CUDA thread);
# with --gpu, the same drivers built by nvcc run the kernels on the GPU (managed memory, every
# launch synchronised and checked).
# Usage: kernels/host-emulation/run.sh [--gpu [--build-only]] [family ...]   (all by default)
#   families: attention layernorm conv reduce softmax loss optim norm pool index random elementwise
#   (elementwise also runs cast.cu)
#   env NVCC (default nvcc), ARCH (default sm_90a; sm_80 on an A100), OUT (binaries; default $TMPDIR/clipvil-emu)
#   --build-only (with --gpu) compiles without running: build on a machine without a GPU, run
#   $OUT/gpu_<family> on the GPU host (statically linked cudart: only the driver is needed there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-${TMPDIR:-/tmp}/clipvil-emu}
mkdir -p "$out"
gpu=0; build_only=0
if [ "${1:-}" = "--gpu" ]; then gpu=1; shift; fi
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
fams=("$@")
[ ${#fams[@]} -eq 0 ] && fams=(reduce softmax loss optim norm pool index random elementwise layernorm conv attention)
status=0
for f in "${fams[@]}"; do
  if [ $gpu -eq 1 ]; then
    "${NVCC:-nvcc}" -O2 -std=c++17 -arch="${ARCH:-sm_90a}" -x cu "$here/emu_$f.cpp" -o "$out/gpu_$f"
    if [ $build_only -eq 1 ]; then echo "built $out/gpu_$f"; continue; fi
    echo "== $f (GPU)"
    "$out/gpu_$f" || status=1
  else
    g++ -std=c++20 -O1 -fno-strict-aliasing -DCLIPVIL_HOST_EMULATION -Wno-unknown-pragmas -pthread \
        "$here/emu_$f.cpp" -o "$out/emu_$f"
    echo "== $f (host emulation)"
    "$out/emu_$f" || status=1
  fi
done
exit $status
