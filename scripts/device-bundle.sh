#!/usr/bin/env bash
# Builds the project and assembles ONE git-ignored folder, device/ (under 60 MiB), that a GPU host with
# no JDK, no Maven and no network (the H200 host of ../shared/docs/GPU.md) runs the GPU tests and the
# GPU benchmarks from:
#
#   device/run.sh          launcher: unpacks the runtime and fixtures once (outside the bundle), finds the
#                          CUDA library folders, sets LD_LIBRARY_PATH, runs java (see `device/run.sh help`)
#   device/gpu-check.sh    the whole GPU check in one go (tests, our benchmarks, PyTorch's, table, JSON)
#   device/pytorch/*.py    the PyTorch side of the benchmarks
#   device/runtime.tar.xz  a jlinked Java 17 runtime (java.base, jdk.unsupported, jdk.incubator.vector,
#                          java.management, jdk.management, java.sql, jdk.zipfs (JUnit reads the test jar
#                          through it), java.desktop (ImageIO: the image decoders, about 4.5 MiB of the
#                          archive; --no-desktop leaves it out))
#   device/kernels-emu.tar.xz  kernels/host-emulation's drivers built by nvcc for sm_90a (static cudart):
#                          every kernel family against double references on the GPU, without the JVM
#   device/shared.tar.xz   the small parity fixtures (hf_clip_small, openai_vit_small, openai_rn_small,
#                          hf_bert_small, tokenizer) and the CLIP BPE vocabulary, laid out like ../shared
#   device/lib/*.jar       clipvil.jar, the engine's test classes, the GPU benchmark classes, JUnit's console
#                          launcher, and the JavaCPP/CUDA jars when clipvil.jar does not already hold them
#
# Usage: bash scripts/device-bundle.sh [--no-build] [--no-desktop] [--out DIR]
#   --no-build   use the jars already in target/ (fails if they are missing)
#   --no-desktop leave java.desktop out of the runtime (saves ~4.5 MiB; then nothing that decodes or
#                writes images, e.g. the CLI's embed/zeroshot on image files, can run on the host)
#   --out DIR    write the bundle to DIR instead of device/ (DIR must be git-ignored to travel by `carry`)
# Environment: SHARED=path of the shared folder (default ../shared beside the repository, then /work/shared).
#
# Re-running is cheap: Maven is skipped when no source or pom changed since the last build, and the two
# compressed archives (minutes of xz on two cores) are cached under a key of what went into them, in
# CLIPVIL_DEVICE_CACHE (default ~/.cache/clipvil-device, shared by every checkout on the machine).
set -euo pipefail

MAX_MIB=60
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1 desktop=1 out="$root/device"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0 ;;
    --no-desktop) desktop=0 ;;
    --out) out="$(realpath -m "$2")"; shift ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "device-bundle.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "device-bundle.sh: $*" >&2; exit 1; }
say() { printf '[device-bundle %5ss] %s\n' "$SECONDS" "$*"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { du -sb "$@" | awk '{ s += $1 } END { print s + 0 }'; }

for tool in java jlink jar mvn xz tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (a JDK 17, Maven, xz and tar are needed on the build machine)"
done
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "$java_major" == 17 ]] || say "warning: building with Java $java_major; the project targets 17"

shared="${SHARED:-}"
if [[ -z "$shared" ]]; then
  for c in "$root/../shared" /work/shared; do [[ -d "$c/fixtures" ]] && { shared="$(cd "$c" && pwd)"; break; }; done
fi
[[ -n "$shared" && -d "$shared/fixtures" ]] || die "no shared folder with fixtures/ found (set SHARED=...)"

cache="${CLIPVIL_DEVICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clipvil-device}"
mkdir -p "$cache"

# ---- 1. build ---------------------------------------------------------------------------------------
engine_jar="$root/target/clipvil.jar"
bench_jar="$root/benchmarks/target/clipvil-benchmarks-0.1.0-SNAPSHOT.jar"
test_classes="$root/target/test-classes"
kernel_out="$root/target/classes/dev/clipvil/kernels"
if [[ $build == 1 ]]; then
  # fatbins whose stamp does not match their sources (e.g. after a build with -Dclipvil.nvcc.skip=true)
  # would be refused on the host and compiled there with NVRTC instead: rebuild them here (incremental)
  if command -v nvcc >/dev/null 2>&1; then
    bash "$root/native/build-kernels.sh" "$root/kernels" "$kernel_out" nvcc 2 | sed 's/^/[device-bundle] /'
  else
    say "warning: no nvcc here; fatbins not checked (stale or missing ones are NVRTC-compiled on the host, minutes)"
  fi
fi
stale() {  # true when a jar is missing or any source/pom/fatbin is newer than it
  [[ -f "$engine_jar" && -f "$bench_jar" && -d "$test_classes" ]] || return 0
  [[ -n "$(find "$root/pom.xml" "$root/src" "$root/kernels" "$kernel_out" -newer "$engine_jar" -type f -print -quit 2>/dev/null)" ||
     -n "$(find "$root/pom.xml" "$root/src" "$root/kernels" "$root/benchmarks/pom.xml" "$root/benchmarks/src" \
             -newer "$bench_jar" -type f -print -quit 2>/dev/null)" ]]
}
if [[ $build == 1 ]] && stale; then
  say "mvn package -DskipTests (engine, its test classes, benchmarks)"
  if ! mvn -q -B -o package -DskipTests; then
    say "offline build failed; retrying online (a plugin or dependency may be missing from ~/.m2)"
    mvn -q -B -ntp package -DskipTests
  fi
else
  say "build skipped ($([[ $build == 0 ]] && echo --no-build || echo 'jars are newer than every source'))"
fi
[[ -f "$engine_jar" ]] || die "$engine_jar missing: build first (mvn package -DskipTests)"
[[ -f "$bench_jar" ]] || die "$bench_jar missing: build first (mvn package -DskipTests)"
[[ -d "$test_classes" ]] || die "$test_classes missing: build first (mvn package -DskipTests)"

m2="${MAVEN_REPO:-$HOME/.m2/repository}"
m2jar() {  # groupId artifactId version [classifier]: path in the local repository, fetched when absent
  local g="$1" a="$2" v="$3" c="${4:-}" p
  p="$m2/${g//.//}/$a/$v/$a-$v${c:+-$c}.jar"
  if [[ ! -f "$p" ]]; then
    say "fetching $g:$a:$v${c:+:$c} into $m2" >&2
    mvn -q -B -ntp dependency:get -Dtransitive=false -Dartifact="$g:$a:$v:jar${c:+:$c}" >&2 || return 1
  fi
  echo "$p"
}

# JUnit's console launcher, of the platform version that goes with src/pom.xml's Jupiter version.
junit_version="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' "$root/pom.xml" | head -1)"
if [[ "$junit_version" =~ ^5\.([0-9]+)\.([0-9]+)$ ]]; then
  platform_version="1.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"   # JUnit 5.x.y ships platform 1.x.y
elif [[ "$junit_version" =~ ^[6-9]\. ]]; then
  platform_version="$junit_version"                          # from JUnit 6 on, one version for all
else
  die "cannot read <junit.version> from pom.xml (got '$junit_version')"
fi
console_jar="$(m2jar org.junit.platform junit-platform-console-standalone "$platform_version")" \
  || die "junit-platform-console-standalone $platform_version is not in $m2 and could not be fetched"

# ---- 2. runtime (jlink), cached by module list and JDK ------------------------------------------------
modules="java.base,jdk.unsupported,jdk.incubator.vector,java.management,jdk.management,java.sql,jdk.zipfs"
[[ $desktop == 1 ]] && modules="$modules,java.desktop"
jdk_id="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.\(home\|runtime.version\) = //p' | tr '\n' ' ')"
rt_key="$(printf '%s|%s|v1' "$modules" "$jdk_id" | sha256sum | cut -c1-16)"
rt_archive="$cache/runtime-$rt_key.tar.xz"
if [[ ! -f "$rt_archive" ]]; then
  say "jlink: $modules"
  rm -rf "$cache/runtime"
  # --compress=0 here: the archive is compressed as a whole with xz, which packs far better (13 MiB
  # against 21 MiB for jlink's own --compress=2 inside xz) and is unpacked once on the host.
  jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=0 \
        --output "$cache/runtime" 2> >(grep -v 'Using incubator modules' >&2)
  say "xz: runtime ($(mib "$(bytes "$cache/runtime")") unpacked)"
  tar -C "$cache" -cf - runtime | xz -6 -T0 > "$rt_archive.part"
  mv "$rt_archive.part" "$rt_archive"
  rm -rf "$cache/runtime"
else
  say "runtime: cached $(basename "$rt_archive")"
fi

# ---- 3. fixtures, laid out like ../shared, cached by their names, sizes and times -----------------------
shared_items=(fixtures/README.md fixtures/hf_clip_small fixtures/openai_vit_small fixtures/openai_rn_small
              fixtures/hf_bert_small fixtures/tokenizer data/bpe_simple_vocab_16e6.txt.gz)
present=()
for i in "${shared_items[@]}"; do
  if [[ -e "$shared/$i" ]]; then present+=("$i"); else say "warning: $shared/$i not found; left out"; fi
done
sh_key="$( (cd "$shared" && find "${present[@]}" -type f -printf '%p %s %T@\n' | sort) | sha256sum | cut -c1-16)"
sh_archive="$cache/shared-$sh_key.tar.xz"
if [[ ! -f "$sh_archive" ]]; then
  say "xz: fixtures ($(cd "$shared" && mib "$(bytes "${present[@]}")") unpacked)"
  tar -C "$shared" --mode='u+w' -cf - "${present[@]}" | xz -6 -T0 > "$sh_archive.part"
  mv "$sh_archive.part" "$sh_archive"
else
  say "fixtures: cached $(basename "$sh_archive")"
fi

# ---- 3b. the host-emulation drivers built for the GPU (kernels/host-emulation, nvcc, static cudart): each
# kernel family checked against double references on the card without the JVM; cached by their sources
emu_archive=""
if command -v nvcc >/dev/null 2>&1; then
  emu_key="$(cat "$root"/kernels/*.cu "$root"/kernels/*.cuh "$root"/kernels/host-emulation/*.h "$root"/kernels/host-emulation/*.cpp \
             "$root"/kernels/host-emulation/run.sh | sha256sum | cut -c1-16)"
  emu_archive="$cache/kernels-emu-$emu_key.tar.xz"
  if [[ ! -f "$emu_archive" ]]; then
    say "nvcc: host-emulation drivers for the GPU (sm_90a; attention takes a few minutes)"
    rm -rf "$cache/kernels-emu"
    mkdir -p "$cache/kernels-emu"
    OUT="$cache/kernels-emu" ARCH=sm_90a bash "$root/kernels/host-emulation/run.sh" --gpu --build-only | sed 's/^/[device-bundle] /'
    tar -C "$cache" -cf - kernels-emu | xz -6 -T0 > "$emu_archive.part"
    mv "$emu_archive.part" "$emu_archive"
    rm -rf "$cache/kernels-emu"
  else
    say "kernel checks: cached $(basename "$emu_archive")"
  fi
else
  say "warning: no nvcc here; the bundle has no GPU builds of the kernel checks (gpu-check skips that stage)"
fi

find "$cache" -maxdepth 1 -name '*.tar.xz' -mtime +14 -delete 2>/dev/null || true

# ---- 4. assemble in a fresh folder, then swap it in ----------------------------------------------------
new="$out.new"
rm -rf "$new"
mkdir -p "$new/lib" "$new/pytorch"
cp "$rt_archive" "$new/runtime.tar.xz"
cp "$sh_archive" "$new/shared.tar.xz"
[[ -n "$emu_archive" ]] && cp "$emu_archive" "$new/kernels-emu.tar.xz"
cp "$engine_jar" "$new/lib/clipvil.jar"
cp "$bench_jar" "$new/lib/clipvil-benchmarks.jar"
cp "$console_jar" "$new/lib/junit-platform-console-standalone.jar"
jar --create --file "$new/lib/clipvil-tests.jar" -C "$test_classes" .

# The CUDA bindings: shaded into clipvil.jar once the engine depends on them; otherwise the jars of the
# verified recipe (GPU.md) from the local repository, so the host still has them.
if jar tf "$engine_jar" | grep -q '^org/bytedeco/cuda/linux-x86_64/'; then
  say "clipvil.jar holds the JavaCPP/CUDA classes and natives"
else
  javacpp_version="$(sed -n 's:.*<javacpp.version>\(.*\)</javacpp.version>.*:\1:p' "$root/pom.xml" | head -1)"
  say "clipvil.jar has no JavaCPP/CUDA natives: adding javacpp $javacpp_version and cuda 13.1-9.19-$javacpp_version jars"
  for spec in "org.bytedeco javacpp $javacpp_version" "org.bytedeco javacpp $javacpp_version linux-x86_64" \
              "org.bytedeco cuda 13.1-9.19-$javacpp_version" "org.bytedeco cuda 13.1-9.19-$javacpp_version linux-x86_64"; do
    # shellcheck disable=SC2086
    if p="$(m2jar $spec)"; then cp "$p" "$new/lib/"; else say "warning: could not get $spec"; fi
  done
fi

cp "$root/scripts/device-run.sh" "$new/run.sh"
cp "$root/scripts/gpu-check.sh" "$new/gpu-check.sh"
cp "$root"/benchmarks/pytorch/*.py "$new/pytorch/"
chmod +x "$new/run.sh" "$new/gpu-check.sh"

commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty=""
if git -C "$root" status --porcelain 2>/dev/null | grep -qv '^??'; then dirty=" (with uncommitted changes)"; fi
{
  echo "bundle_id=$rt_key-$sh_key-$(date -u +%Y%m%dT%H%M%SZ)"
  echo "runtime_key=$rt_key"
  echo "shared_key=$sh_key"
  echo "commit=$commit$dirty"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "modules=$modules"
  echo "junit_platform=$platform_version"
} > "$new/BUNDLE"

rm -rf "$out"
mv "$new" "$out"

# ---- 5. sizes -----------------------------------------------------------------------------------------
total="$(bytes "$out")"
echo
echo "bundle $out  (commit $commit$dirty)"
( cd "$out" && find . -type f -printf '%s %P\n' | sort -rn | awk '{ printf "  %9.2f MiB  %s\n", $1 / 1048576, $2 }' )
echo "  total $(mib "$total") (limit $MAX_MIB MiB); $SECONDS s"
if ! git -C "$root" check-ignore -q "$out" 2>/dev/null; then
  say "warning: $out is not git-ignored; the device tool carries only ignored paths named in carry"
fi
(( total <= MAX_MIB * 1048576 )) || die "bundle is $(mib "$total"), over the $MAX_MIB MiB limit"
