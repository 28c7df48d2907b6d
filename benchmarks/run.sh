#!/usr/bin/env bash
# Runs the JMH suite (the engine's CPU kernels against libtorch on the CPU) and prints a markdown table
# of ms/op, GFLOP/s or GB/s and the clipvil/libtorch time ratio. Build first, at the repository root:
#     mvn -B -ntp package -DskipTests
# Usage:
#     bash benchmarks/run.sh [JMH args...]   e.g.  bash benchmarks/run.sh GemmBench -p shape=256,1024
#     bash benchmarks/run.sh verify          both engines on one small case per op (correctness)
# Defaults (each replaced when you pass the same option): -f 1 -wi 3 -i 5 -w 1s -r 1s -rf json
# -rff benchmarks/target/results.json. Threads: CLIPVIL_THREADS=N (both engines use N); see README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/benchmarks.jar"
vector="--add-modules=jdk.incubator.vector"

die() { echo "run.sh: $*" >&2; exit 1; }

[[ -f "$jar" ]] || die "$jar not found; build it first at the repository root: mvn -B -ntp package -DskipTests"
[[ -d "$here/target/lib" ]] || die "$here/target/lib (the libtorch natives) not found; rebuild: mvn -B -ntp package -DskipTests"
command -v java >/dev/null || die "java not found (JDK 17 or newer needed)"
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "${java_major%%.*}" -ge 17 ]] 2>/dev/null || die "Java 17 or newer needed, found '${java_major}'"

# libtorch's natives (bytedeco pytorch 2.10.0-1.5.13, linux-x86_64) bundle libgomp, OpenBLAS, libgfortran
# and libquadmath, but use the system's C and C++ runtimes: glibc >= 2.35 and a libstdc++.so.6 that
# provides GLIBCXX_3.4.30 (GCC 12's; Debian 12 package libstdc++6, Ubuntu 22.04 or newer).
check_libtorch_prereqs() {
  local problems=()
  [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || problems+=("the bundled libtorch is for Linux x86_64, this is $(uname -s)-$(uname -m)")
  local glibc
  glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
  if [[ -z "$glibc" ]]; then
    problems+=("glibc not found (musl/Alpine cannot run the bundled libtorch)")
  elif [[ "$(printf '%s\n%s\n' 2.35 "$glibc" | sort -V | head -1)" != "2.35" ]]; then
    problems+=("glibc $glibc is older than the 2.35 libtorch needs")
  fi
  local stdcxx
  stdcxx="$( { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
  if [[ -z "$stdcxx" ]]; then
    problems+=("libstdc++.so.6 not found (install libstdc++6)")
  elif ! grep -qa 'GLIBCXX_3\.4\.30' "$stdcxx"; then
    problems+=("$stdcxx lacks GLIBCXX_3.4.30 (libstdc++ from GCC 12 or newer needed)")
  fi
  if ((${#problems[@]})); then
    printf 'run.sh: cannot run the libtorch baseline here:\n' >&2
    printf '  - %s\n' "${problems[@]}" >&2
    printf 'Run only the engine with: bash benchmarks/run.sh -p impl=clipvil ...\n' >&2
    return 1
  fi
}

clipvil_only=false
for a in "$@"; do [[ "$a" == "impl=clipvil" ]] && clipvil_only=true; done
$clipvil_only || check_libtorch_prereqs || exit 1

if [[ "${1:-}" == "verify" ]]; then
  shift
  exec java "$vector" -cp "$jar" dev.clipvil.bench.VerifyImpls "$@"
fi

# Listing and help go straight to JMH.
for a in "$@"; do
  case "$a" in -l|-lp|-lprof|-h|-help) exec java "$vector" -jar "$jar" "$@" ;; esac
done

results="$here/target/results.json"
args=()
has() { local o="$1"; shift; for a in "$@"; do [[ "$a" == "$o" ]] && return 0; done; return 1; }
add_default() { has "$1" "${user[@]}" || args+=("$1" "$2"); }
user=("$@")
add_default -f 1
add_default -wi 3
add_default -i 5
add_default -w 1s
add_default -r 1s
add_default -rf json
if has -rff "${user[@]}"; then
  for ((i = 0; i < ${#user[@]}; i++)); do [[ "${user[$i]}" == "-rff" ]] && results="${user[$((i + 1))]}"; done
else
  args+=(-rff "$results")
fi
[[ "$(echo "${user[*]:-} ${args[*]}" | grep -o -- '-rf json')" ]] || die "the table needs JSON results: keep -rf json"

# libtorch takes its tensors from the C allocator. glibc serves blocks above its mmap threshold (at most
# 32 MB by default) with fresh mmap()s, so every [12800, 768]-sized output would be page-faulted in again
# on every call (measured here: layer norm 90 ms -> 18 ms/op). The engine reuses memory from its pool;
# to compare kernels rather than allocators, glibc is told to keep freed memory. Set GLIBC_TUNABLES
# yourself (even to an empty string) to override.
export GLIBC_TUNABLES="${GLIBC_TUNABLES-glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296}"

rm -f "$results"
rc=0
# The host JVM's options (the Vector API module) are inherited by JMH's forks.
java "$vector" -jar "$jar" "${args[@]}" "${user[@]}" || rc=$?

if [[ -s "$results" ]]; then
  echo
  java "$vector" -cp "$jar" dev.clipvil.bench.Report "$results" | tee "${results%.json}.md"
else
  echo "run.sh: no results in $results (JMH exit status $rc)" >&2
fi
exit "$rc"
