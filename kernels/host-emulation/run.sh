#!/usr/bin/env bash
# Builds and runs the host-emulation checks of kernels/{attention,layernorm,conv}.cu (no GPU needed):
# each kernel runs with one std::thread per CUDA thread against a double-precision reference.
# Usage: kernels/host-emulation/run.sh [attention|layernorm|conv ...]   (all three by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${TMPDIR:-/tmp}/clipvil-emu
mkdir -p "$out"
fams=("$@")
[ ${#fams[@]} -eq 0 ] && fams=(attention layernorm conv)
status=0
for f in "${fams[@]}"; do
  g++ -std=c++20 -O1 -fno-strict-aliasing -DCLIPVIL_HOST_EMULATION -Wno-unknown-pragmas -pthread \
      "$here/emu_$f.cpp" -o "$out/emu_$f"
  echo "== $f"
  "$out/emu_$f" || status=1
done
exit $status
