#!/usr/bin/env bash
# Launcher of the device bundle (scripts/device-bundle.sh copies this file to device/run.sh). It needs
# no JDK: on first use it unpacks the bundle's runtime and fixtures into a folder OUTSIDE the bundle
# (CLIPVIL_UNPACK, default ${TMPDIR:-/tmp}/clipvil-device-<bundle id>), finds the CUDA library folders,
# sets LD_LIBRARY_PATH, and runs java with --add-modules=jdk.incubator.vector.
#
# Usage: device/run.sh COMMAND [ARGS...]
#   clipvil ARGS...   the CLI (dev.clipvil.cli.Main), e.g. `device/run.sh clipvil info`
#   junit ARGS...     JUnit's console launcher (`execute`) over the engine's test classes, -Dclipvil.shared
#                     set to the unpacked fixtures; without a --scan-classpath/--select* of yours it scans
#                     lib/clipvil-tests.jar (e.g. `device/run.sh junit --include-tag gpu`)
#   bench ARGS...     the GPU benchmark entry point dev.clipvil.bench.gpu.GpuBench
#   java ARGS...      the bundled java, with the bundle's jars as class path
#   env               what was found: runtime, fixtures, each CUDA library and the LD_LIBRARY_PATH used
#   shared            prints the unpacked shared folder (for -Dclipvil.shared)
#   unpack            only unpacks
# Environment: JAVA_OPTS (default -Xmx24g -Xss4m), CLIPVIL_UNPACK, CLIPVIL_CUDA_LIBS (folders to put first,
# colon-separated; e.g. when the search below finds the wrong copy).
#
# Never puts a .../compat folder on LD_LIBRARY_PATH: the CUDA forward-compatibility libcuda there is
# older than the host's driver and makes every CUDA call fail with error 803 (../shared/docs/GPU.md).
set -euo pipefail

bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "run.sh: $*" >&2; exit 1; }
[[ -f "$bundle/BUNDLE" ]] || die "$bundle/BUNDLE missing: this is not a device bundle (make one with scripts/device-bundle.sh)"
bundle_id="$(sed -n 's/^bundle_id=//p' "$bundle/BUNDLE")"
unpack="${CLIPVIL_UNPACK:-${TMPDIR:-/tmp}/clipvil-device-$bundle_id}"
java_bin="$unpack/runtime/bin/java"
shared="$unpack/shared"

# Unpacks a .tar.xz with tar+xz, or with Python's tarfile where xz is not installed.
extract() {
  local archive="$1" dest="$2"
  mkdir -p "$dest"
  if command -v xz >/dev/null && tar -C "$dest" -xJf "$archive" 2>/dev/null; then return 0; fi
  local py
  for py in python3 /opt/torch/.venv/bin/python3 python; do
    if command -v "$py" >/dev/null; then
      "$py" - "$archive" "$dest" <<'EOF' && return 0
import sys, tarfile
with tarfile.open(sys.argv[1], "r:xz") as t:
    try:
        t.extractall(sys.argv[2], filter="fully_trusted")
    except TypeError:
        t.extractall(sys.argv[2])
EOF
    fi
  done
  die "cannot unpack $archive: neither tar+xz nor a Python with lzma worked"
}

do_unpack() {
  [[ -x "$java_bin" && -f "$unpack/.done" ]] && return 0
  mkdir -p "$unpack"
  extract "$bundle/runtime.tar.xz" "$unpack"
  rm -rf "$shared"
  extract "$bundle/shared.tar.xz" "$shared"
  "$java_bin" -version >/dev/null 2>&1 || die "the unpacked runtime does not start: $java_bin -version failed"
  touch "$unpack/.done"
}

# ---- CUDA library folders --------------------------------------------------------------------------
needed=(libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13 libcudnn.so.9)
candidates() {
  [[ -n "${CLIPVIL_CUDA_LIBS:-}" ]] && tr ':' '\n' <<<"$CLIPVIL_CUDA_LIBS"
  local d
  for d in /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib \
           /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn/lib \
           /usr/local/nvidia/lib64 /usr/local/nvidia/lib \
           /usr/lib/x86_64-linux-gnu /usr/lib64 \
           /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do
    [[ -d "$d" ]] && echo "$d"
  done
  return 0
}
is_compat() { [[ "$1" == */compat || "$1" == */compat/* ]]; }

declare -A found=()
lib_dirs=()
add_dir() {
  local d="$1" x
  is_compat "$d" && return 0
  for x in "${lib_dirs[@]}"; do [[ "$x" == "$d" ]] && return 0; done
  lib_dirs+=("$d")
}
find_cuda_libs() {
  local lib d hit
  mapfile -t cands < <(candidates)
  for lib in "${needed[@]}"; do
    for d in "${cands[@]}"; do
      is_compat "$d" && continue
      if [[ -e "$d/$lib" ]]; then found[$lib]="$d/$lib"; add_dir "$d"; break; fi
    done
  done
  # Fallback: one bounded search of the file system (depth 9, 20 s) for whatever is still missing.
  local missing=() names=()
  for lib in "${needed[@]}"; do [[ -n "${found[$lib]:-}" ]] || missing+=("$lib"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    for lib in "${missing[@]}"; do names+=(${names[0]+-o} -name "$lib"); done
    while IFS= read -r hit; do
      lib="$(basename "$hit")"
      [[ -n "${found[$lib]:-}" ]] && continue
      found[$lib]="$hit"; add_dir "$(dirname "$hit")"
    done < <(timeout 20 find / -maxdepth 9 \( -path /proc -o -path /sys -o -path /dev -o -name compat \) -prune \
               -o \( "${names[@]}" \) -print 2>/dev/null | grep -v '/compat/' || true)
  fi
  local path="" x
  for x in "${lib_dirs[@]}"; do path="${path:+$path:}$x"; done
  # Keep what the caller had, less any compat folder.
  if [[ -n "${LD_LIBRARY_PATH:-}" ]]; then
    local IFS=':'
    for x in $LD_LIBRARY_PATH; do
      [[ -z "$x" ]] && continue
      is_compat "$x" && { echo "run.sh: dropping $x from LD_LIBRARY_PATH (CUDA compat libcuda: error 803)" >&2; continue; }
      [[ ":$path:" == *":$x:"* ]] || path="${path:+$path:}$x"
    done
  fi
  export LD_LIBRARY_PATH="$path"
}

classpath() {
  local cp="" j
  for j in "$bundle"/lib/*.jar; do
    [[ "$(basename "$j")" == junit-platform-console-standalone.jar ]] && continue
    cp="${cp:+$cp:}$j"
  done
  echo "$cp"
}

run_java() {
  # shellcheck disable=SC2086
  exec "$java_bin" --add-modules=jdk.incubator.vector ${JAVA_OPTS:--Xmx24g -Xss4m} \
    -Dclipvil.shared="$shared" "$@"
}

cmd="${1:-help}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  help|-h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  unpack) do_unpack; echo "$unpack" ;;
  shared) do_unpack; echo "$shared" ;;
  env)
    do_unpack; find_cuda_libs
    echo "bundle:   $bundle ($(sed -n 's/^commit=//p' "$bundle/BUNDLE"))"
    echo "runtime:  $java_bin ($("$java_bin" -version 2>&1 | head -1))"
    echo "shared:   $shared"
    for lib in "${needed[@]}"; do printf '%-20s %s\n' "$lib" "${found[$lib]:-NOT FOUND}"; done
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    ;;
  clipvil) do_unpack; find_cuda_libs; run_java -cp "$(classpath)" dev.clipvil.cli.Main "$@" ;;
  bench) do_unpack; find_cuda_libs; run_java -cp "$(classpath)" dev.clipvil.bench.gpu.GpuBench "$@" ;;
  java) do_unpack; find_cuda_libs; run_java -cp "$(classpath)" "$@" ;;
  junit)
    do_unpack; find_cuda_libs
    selectors=()
    [[ " $* " == *" --scan-classpath"* || " $* " == *" --select"* || " $* " == *" -c "* || " $* " == *" -m "* ]] \
      || selectors=(--scan-classpath "$bundle/lib/clipvil-tests.jar")
    run_java -jar "$bundle/lib/junit-platform-console-standalone.jar" execute --disable-banner \
      -cp "$(classpath)" "${selectors[@]}" "$@"
    ;;
  *) die "unknown command '$cmd' (try: device/run.sh help)" ;;
esac
