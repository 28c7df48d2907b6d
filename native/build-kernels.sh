#!/usr/bin/env bash
# Compiles kernels/<family>.cu into <out>/<family>.fatbin with nvcc: SASS for sm_80 and sm_90a plus
# compute_90 PTX (forward compatibility, JIT-compiled by the driver on newer GPUs). Run by the Maven
# build in generate-resources; skip it with -Dclipvil.nvcc.skip=true.
#
# Incremental: a fatbin newer than its .cu and every kernels/*.cuh is kept. Per-file extra flags come
# from a first-lines comment `// nvcc-flags: --use_fast_math` (NVRTC reads the same line), so fast math
# is opted into where a kernel's accuracy allows it, never globally.
#
# Usage: build-kernels.sh <kernels-dir> <out-dir> [nvcc] [jobs]
set -euo pipefail
src=${1:?kernels dir}; out=${2:?output dir}; nvcc=${3:-nvcc}; jobs=${4:-2}
if ! command -v "$nvcc" >/dev/null 2>&1; then
  echo "build-kernels: '$nvcc' not found; install the CUDA toolkit or build with -Dclipvil.nvcc.skip=true" >&2
  exit 1
fi
mkdir -p "$out"
gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_90,code=compute_90)
newest_header=0
for h in "$src"/*.cuh; do
  [ -e "$h" ] || continue
  t=$(stat -c %Y "$h"); [ "$t" -gt "$newest_header" ] && newest_header=$t
done
todo=()
for cu in "$src"/*.cu; do
  [ -e "$cu" ] || continue
  fam=$(basename "$cu" .cu); fb="$out/$fam.fatbin"
  if [ -f "$fb" ]; then
    tf=$(stat -c %Y "$fb"); tc=$(stat -c %Y "$cu")
    if [ "$tf" -ge "$tc" ] && [ "$tf" -ge "$newest_header" ]; then continue; fi
  fi
  todo+=("$cu")
done
[ ${#todo[@]} -eq 0 ] && { echo "build-kernels: fatbins up to date"; exit 0; }
start=$(date +%s)
compile() {
  local cu=$1 fam flags
  fam=$(basename "$cu" .cu)
  flags=$(head -n 5 "$cu" | sed -n 's#^// nvcc-flags:\(.*\)$#\1#p' | head -n 1)
  # shellcheck disable=SC2086
  "$nvcc" -fatbin -O3 -std=c++17 -I"$src" "${gencode[@]}" $flags -o "$out/$fam.fatbin.tmp" "$cu" \
    && mv "$out/$fam.fatbin.tmp" "$out/$fam.fatbin"
}
fail=0
for cu in "${todo[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || fail=1; done
  compile "$cu" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || fail=1; done
[ $fail -eq 0 ] || { echo "build-kernels: nvcc failed" >&2; exit 1; }
echo "build-kernels: ${#todo[@]} fatbin(s) in $(( $(date +%s) - start )) s -> $out"
