#!/usr/bin/env bash
# Compiles kernels/<family>.cu into <out>/<family>.fatbin with nvcc: SASS for sm_80 and sm_90a plus
# compute_90 PTX (forward compatibility, JIT-compiled by the driver on newer GPUs). Run by the Maven
# build in generate-resources; skip it with -Dclipvil.nvcc.skip=true.
#
# Each fatbin gets a stamp, <family>.fatbin.sha256: the SHA-256 of the family's .cu followed by the
# headers it includes (transitively, in order of first inclusion). The engine loads a fatbin only when
# its stamp matches the sources shipped beside it (dev.clipvil.backend.cuda.KernelSources#stamp), so a
# jar whose fatbins are older than its sources (a build with -Dclipvil.nvcc.skip=true after a kernel
# edit) falls back to NVRTC instead of running stale code.
#
# Beside each fatbin goes <family>.resources, what ptxas reported per kernel and architecture (nvcc
# --resource-usage): registers per thread, static shared memory, stack frame and spill bytes, under the
# same stamp. The engine's dry-run device checks every launch against it (registers x threads and
# shared memory within an SM's limits on sm_80 and sm_90a), and a test holds the kernels to no spills.
#
# Incremental: a fatbin whose stamp matches its sources (and whose resources file exists) is kept. Per-file extra flags come
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
# headers FILE: the "..." includes of FILE, transitively, each once, in order of first inclusion
declare -A seen_header
headers() {
  local h
  for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"); do
    [ -n "${seen_header[$h]:-}" ] && continue
    seen_header[$h]=1
    [ -f "$src/$h" ] || { echo "build-kernels: $1 includes $h, which is not in $src" >&2; exit 1; }
    echo "$h"
    headers "$src/$h"
  done
}
stamp() {  # stamp FILE.cu: sha256 of the file and its headers, concatenated
  local cu=$1 hs
  seen_header=()
  hs=$(headers "$cu")
  { cat "$cu"; for h in $hs; do cat "$src/$h"; done; } | sha256sum | cut -c1-64
}
todo=()
# largest sources first: attention.cu alone takes most of the time, so it starts at once while the
# other job slot works through the small families
for cu in $(ls -S "$src"/*.cu 2>/dev/null); do
  [ -e "$cu" ] || continue
  fam=$(basename "$cu" .cu); fb="$out/$fam.fatbin"
  if [ -f "$fb" ] && [ -f "$fb.sha256" ] && [ -f "$out/$fam.resources" ] && [ "$(cat "$fb.sha256")" = "$(stamp "$cu")" ]; then continue; fi
  todo+=("$cu")
done
[ ${#todo[@]} -eq 0 ] && { echo "build-kernels: fatbins up to date"; exit 0; }
start=$(date +%s)
compile() {
  local cu=$1 fam flags
  fam=$(basename "$cu" .cu)
  flags=$(head -n 5 "$cu" | sed -n 's#^// nvcc-flags:\(.*\)$#\1#p' | head -n 1)
  # shellcheck disable=SC2086
  local st
  st=$(stamp "$cu")
  if ! "$nvcc" -fatbin -O3 -std=c++17 -I"$src" "${gencode[@]}" $flags --resource-usage -o "$out/$fam.fatbin.tmp" "$cu" 2> "$out/$fam.ptxas.log"; then
    grep -v '^ptxas info\|bytes stack frame' "$out/$fam.ptxas.log" >&2
    return 1
  fi
  grep -v '^ptxas info\|bytes stack frame' "$out/$fam.ptxas.log" >&2 || true  # warnings
  { echo "# stamp $st"; echo "# arch	kernel	registers	static_smem	stack	spill_stores	spill_loads"; resources < "$out/$fam.ptxas.log"; } > "$out/$fam.resources"
  rm -f "$out/$fam.ptxas.log"
  mv "$out/$fam.fatbin.tmp" "$out/$fam.fatbin" && echo "$st" > "$out/$fam.fatbin.sha256"
}
# resources < ptxas log: one tab-separated line per (architecture, entry point), in portable awk
resources() {
  awk -v OFS='\t' '
    /Compiling entry function/ {
      name = $0; sub(/^.*function \047/, "", name); sub(/\047.*$/, "", name)
      arch = $0; sub(/^.* for \047/, "", arch); sub(/\047.*$/, "", arch)
      stack = 0; stores = 0; loads = 0; next
    }
    /bytes stack frame/ { stack = $1; stores = $5; loads = $9; next }
    /ptxas info *: Used [0-9]+ registers/ {
      regs = 0; smem = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^registers/) regs = $(i - 1)
        if ($i ~ /^smem/) smem = $(i - 2)
      }
      if (name != "") print arch, name, regs, smem, stack, stores, loads
      name = ""
    }'
}
fail=0
for cu in "${todo[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || fail=1; done
  compile "$cu" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || fail=1; done
[ $fail -eq 0 ] || { echo "build-kernels: nvcc failed" >&2; exit 1; }
echo "build-kernels: ${#todo[@]} fatbin(s) in $(( $(date +%s) - start )) s -> $out"
