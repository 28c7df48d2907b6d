#!/usr/bin/env bash
# The whole GPU check in one go, on the GPU host, from the device bundle (scripts/device-bundle.sh):
#   1. nvidia-smi summary
#   2. runtime, CUDA libs, info
#   2b. every kernel family alone: kernels/host-emulation's drivers built for the GPU (no JVM)
#   3. GPU tests (JUnit, tag gpu)
#   4. fixture parity tests on the host's CPU (checks the copied fixtures)
#   5. the engine's GPU benchmarks (GpuBench through the Backend interface), then `clipvil bench-encode`
#      on the GPU (ViT-B/32 encoding, BF16)
#   6. PyTorch on the same card (device/pytorch/*.py: eager and torch.compile)
# then a short table (ours, PyTorch eager, torch.compile, ratio, target; conv2d also through cuDNN in the
# engine, GpuBench's conv2d_cudnn rows, with the of_cudnn target) printed LAST, and one JSON file
# with everything: $OUT/gpu-check.json when OUT is set (the device tool), else <bundle>/results/.
# Every stage has its own timeout, cut to what is left of the whole budget, so one hang cannot eat it.
#
# Usage: bash device/gpu-check.sh [--budget SECONDS] [--stages LIST] [--dry-run] [--bundle DIR]
#   --budget S    wall-clock budget of the whole check (default 520)
#   --stages L    comma-separated subset of: smi,env,kernels,tests,parity,bench,torch (default: all)
#   --dry-run     no GPU needed: runs everything on the CPU with tiny shapes (a check of the scripts);
#                 without it, a host with no GPU stops after stage 1 with exit status 2
#   --bundle DIR  the bundle (default: this script's folder if it holds a bundle, else <repo>/device)
# Environment: PYTHON (default /opt/torch/.venv/bin/python3, then python3), JAVA_OPTS, OUT.
# Exit status: 0 when every stage that ran passed, 1 when one failed or timed out, 2 when there is no GPU.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
budget=520 stages="smi,env,kernels,tests,parity,bench,torch" dry=0 bundle=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) budget="$2"; shift ;;
    --stages) stages="$2"; shift ;;
    --dry-run) dry=1 ;;
    --bundle) bundle="$2"; shift ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$bundle" ]]; then
  if [[ -f "$here/BUNDLE" ]]; then bundle="$here"; else bundle="$(cd "$here/.." && pwd)/device"; fi
fi
[[ -f "$bundle/BUNDLE" && -x "$bundle/run.sh" ]] || {
  echo "gpu-check.sh: no device bundle at $bundle (make one with: bash scripts/device-bundle.sh)" >&2; exit 2; }
bundle="$(cd "$bundle" && pwd)"

if [[ -n "${OUT:-}" ]]; then results="$OUT"; else results="$bundle/results"; fi
mkdir -p "$results"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
log="$work/gpu-check.log"
exec > >(tee -a "$log") 2>&1

pydir="$bundle/pytorch"
[[ -d "$pydir" ]] || pydir="$(cd "$here/.." && pwd)/benchmarks/pytorch"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  for p in /opt/torch/.venv/bin/python3 python3; do command -v "$p" >/dev/null && { python="$p"; break; }; done
fi

start=$SECONDS
deadline=$((start + budget))
failures=0
printf 'stage\trc\tseconds\tstatus\n' > "$work/stages.tsv"
say() { printf '\n==== [%4ss] %s\n' "$((SECONDS - start))" "$*"; }
wants() { [[ ",$stages," == *",$1,"* ]]; }

# run_stage NAME MAX_SECONDS CMD...: runs CMD under a timeout of min(MAX, what is left - 5 s), records it.
# CMD sees that timeout as $STAGE_TIMEOUT (the benchmarks size their own budgets from it).
run_stage() {
  local name="$1" max="$2"; shift 2
  local left=$((deadline - SECONDS - 5)) t rc t0 status
  t=$(( max < left ? max : left ))
  if (( t < 10 )); then
    say "$name: SKIPPED, the budget of ${budget}s is spent"
    printf '%s\t-\t0\tskipped (budget)\n' "$name" >> "$work/stages.tsv"
    return 0
  fi
  say "$name (timeout ${t}s): $*"
  t0=$SECONDS
  STAGE_TIMEOUT="$t" timeout -k 10 "$t" "$@"
  rc=$?
  if (( rc == 124 || rc == 137 )); then status="TIMED OUT after ${t}s"; failures=$((failures + 1))
  elif (( rc == 0 )); then status="ok"
  else status="failed (exit $rc)"; failures=$((failures + 1)); fi
  say "$name: $status in $((SECONDS - t0))s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$status" >> "$work/stages.tsv"
  return 0
}

finish() {
  say "summary"
  cp "$log" "$results/gpu-check.log" 2>/dev/null
  local args=(--work "$work" --json "$results/gpu-check.json" --bundle "$bundle")
  (( dry )) && args+=(--dry-run)
  if [[ -n "$python" ]] && "$python" "$pydir/gpu_summary.py" "${args[@]}"; then :; else
    echo "gpu-check.sh: no summary table (no python, or gpu_summary.py failed); stages:"
    column -t -s $'\t' "$work/stages.tsv" 2>/dev/null || cat "$work/stages.tsv"
  fi
  for f in junit-gpu.xml junit-parity.xml; do [[ -f "$work/$f" ]] && cp "$work/$f" "$results/$f"; done
  cp "$log" "$results/gpu-check.log" 2>/dev/null
  echo "gpu-check: $failures stage(s) failed; results in $results (log, json); $((SECONDS - start))s"
}

say "gpu-check: bundle $bundle ($(sed -n 's/^commit=//p' "$bundle/BUNDLE")), budget ${budget}s, results in $results$( ((dry)) && echo ', DRY RUN on the CPU')"

# ---- 1. the GPU --------------------------------------------------------------------------------------
gpu=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L > "$work/smi-list.txt" 2>&1 && grep -q '^GPU ' "$work/smi-list.txt"; then
  gpu=1
fi
if wants smi; then
  if (( gpu )); then
    run_stage smi 20 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit,compute_mode,mig.mode.current \
      --format=csv
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$work/smi.csv" 2>/dev/null
  else
    say "smi: NO GPU: $(command -v nvidia-smi >/dev/null && head -3 "$work/smi-list.txt" | tr '\n' ' ' || echo 'nvidia-smi is not installed') (no /dev/nvidiactl: $([[ -e /dev/nvidiactl ]] && echo present || echo absent))"
    printf 'smi\t-\t0\tno GPU\n' >> "$work/stages.tsv"
  fi
fi
if (( !gpu && !dry )); then
  echo "gpu-check: no NVIDIA GPU is visible on this machine; nothing to check. Use --dry-run to exercise the scripts on the CPU."
  finish
  exit 2
fi

# ---- 2. runtime and CUDA libraries (also unpacks the bundle once) ---------------------------------------
if wants env; then
  # shellcheck disable=SC2016  # $1 is for the inner bash -c
  run_stage env 90 bash -c '"$1" env && "$1" clipvil info' _ "$bundle/run.sh"
fi

# ---- 2b. the kernels alone: kernels/host-emulation's drivers built for the GPU (no JVM), each family ------
if wants kernels; then
  if (( dry )); then
    say "kernels: SKIPPED in a dry run (the drivers are GPU builds; kernels/host-emulation/run.sh runs them on a CPU)"
    printf 'kernels\t-\t0\tskipped (dry run)\n' >> "$work/stages.tsv"
  elif [[ ! -f "$bundle/kernels-emu.tar.xz" ]]; then
    say "kernels: SKIPPED, the bundle has no kernels-emu.tar.xz (built without nvcc)"
    printf 'kernels\t-\t0\tskipped (not in bundle)\n' >> "$work/stages.tsv"
  else
    tar -C "$work" -xJf "$bundle/kernels-emu.tar.xz"
    # shellcheck disable=SC2016  # $1 is for the inner bash -c
    run_stage kernels 60 bash -c 'st=0; for f in reduce softmax loss optim norm pool index random elementwise layernorm conv attention; do
        [[ -x "$1/gpu_$f" ]] || continue; echo "== $f (GPU)"; "$1/gpu_$f" > "$1/$f.out" 2>&1; rc=$?
        grep -v "^ok " "$1/$f.out" | tail -20; echo "$f: $(grep -c "^ok " "$1/$f.out") ok, exit $rc"; (( rc == 0 )) || st=1; done; exit $st' _ "$work/kernels-emu"
  fi
fi

# ---- 3. GPU tests ----------------------------------------------------------------------------------------
junit_summary() {  # the console launcher's summary lines, for the JSON
  grep -E '^\[ +[0-9]+ (tests|containers) (found|successful|failed|aborted|skipped) +\]' "$1" | tr -s ' ' || true
}
if wants tests; then
  # shellcheck disable=SC2016  # $1, $2... are for the inner bash -c
  run_stage tests 150 bash -c 'set -o pipefail; "$1" junit --scan-classpath "$2" --include-tag gpu --fail-if-no-tests --disable-ansi-colors --details=tree --reports-dir "$3/junit-gpu" 2>&1 | tee "$3/tests.out"' \
    _ "$bundle/run.sh" "$bundle/lib/clipvil-tests.jar" "$work"
  junit_summary "$work/tests.out" > "$work/tests.summary"
  cp "$work/junit-gpu/TEST-junit-jupiter.xml" "$work/junit-gpu.xml" 2>/dev/null
  grep -q '^\[ *0 tests found' "$work/tests.out" 2>/dev/null && echo "gpu-check: WARNING: no test is tagged gpu in this bundle"
fi

# ---- 4. fixture parity tests (CPU) on the copied fixtures --------------------------------------------------
if wants parity; then
  # shellcheck disable=SC2016  # $1, $2... are for the inner bash -c
  run_stage parity 90 bash -c 'set -o pipefail; "$1" junit --scan-classpath "$2" --exclude-tag gpu --fail-if-no-tests \
      --include-classname "dev\.clipvil\.(clip\.ClipParityTest|clip\.ClipResNetFixtureTest|vil\.BertParityTest|io\.SafeTensorsFixtureTest)" \
      --disable-ansi-colors --details=tree --reports-dir "$3/junit-parity" 2>&1 | tee "$3/parity.out"' \
    _ "$bundle/run.sh" "$bundle/lib/clipvil-tests.jar" "$work"
  junit_summary "$work/parity.out" > "$work/parity.summary"
  cp "$work/junit-parity/TEST-junit-jupiter.xml" "$work/junit-parity.xml" 2>/dev/null
fi

# ---- 5. the engine's benchmarks ---------------------------------------------------------------------------
if wants bench; then
  if (( dry )); then bargs=(--device cpu --scale tiny); else bargs=(--device cuda:0 --scale full); fi
  # GpuBench stops starting cases 30 s before the stage's timeout (JVM start, model set-up, last case).
  # shellcheck disable=SC2016  # $1, $2... are for the inner bash -c
  run_stage bench 200 bash -c '"$1" bench "${@:3}" --json "$2/gpubench.json" --budget-s "$(( STAGE_TIMEOUT > 60 ? STAGE_TIMEOUT - 30 : STAGE_TIMEOUT / 2 ))"' \
    _ "$bundle/run.sh" "$work" "${bargs[@]}"
  # the CLI's own benchmark: CLIP ViT-B/32 image encoding end to end, GPU time per primitive by CUDA events
  if (( dry )); then eargs=(--device cpu --batch-size 1 --iterations 1 --warmup 0); else eargs=(--device cuda:0 --precision bf16 --batch-size 256 --iterations 10 --warmup 2); fi
  # shellcheck disable=SC2016  # $1, $2... are for the inner bash -c
  run_stage encode 60 bash -c 'set -o pipefail; "$1" clipvil bench-encode "${@:3}" 2>&1 | tee "$2/encode.txt"' _ "$bundle/run.sh" "$work" "${eargs[@]}"
fi

# ---- 6. PyTorch on the same card ---------------------------------------------------------------------------
if wants torch; then
  if [[ -z "$python" ]]; then
    say "torch: SKIPPED, no python3 found"
    printf 'torch\t-\t0\tskipped (no python)\n' >> "$work/stages.tsv"
  else
    if (( dry )); then pargs=(--quick --device cpu --no-compile); else pargs=(); fi
    # Each script stops starting variants 15 s before its stage's timeout (eager ones run first).
    for spec in launch_overhead:40 attention_sdpa:100 layernorm:90 conv2d:90 vit_b32_train_step:170; do
      script="${spec%%:*}" max="${spec##*:}"
      # shellcheck disable=SC2016  # $1, $2... are for the inner bash -c
      run_stage "torch-$script" "$max" bash -c 'PYTHONUNBUFFERED=1 "$1" "$2" "${@:4}" --budget-s "$(( STAGE_TIMEOUT > 30 ? STAGE_TIMEOUT - 15 : STAGE_TIMEOUT / 2 ))" > "$3"' \
        _ "$python" "$pydir/$script.py" "$work/torch-$script.jsonl" "${pargs[@]}"
      tail -c 600 "$work/torch-$script.jsonl" 2>/dev/null | cut -c1-300
    done
  fi
fi

finish
(( failures == 0 ))
