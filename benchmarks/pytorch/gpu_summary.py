"""Merges what scripts/gpu-check.sh collected into one JSON file and prints the short table.

Reads, from --work: stages.tsv (each stage's exit status and time), smi.csv, tests.summary and
parity.summary (JUnit console launcher summary lines), gpubench.json (the engine's GpuBench) and
torch-*.jsonl (one JSON line per PyTorch script). Rows are matched on (bench, variant, dtype).
Standard library only: it runs where PyTorch is missing too.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys

# Targets of issue 4 ("Targets on the H200"), keyed like the rows. kind: 'speedup' = ours time / eager
# time at most 1/x; 'of_copy' = our layer norm bandwidth over our copy's; 'of_torch_tflops' = our TFLOP/s
# over PyTorch's (cuDNN); 'of_cudnn' = our TFLOP/s over cuDNN's through the engine itself (GpuBench's
# conv2d_cudnn row, --conv cudnn; the ours row carries the ratio as of_cudnn); 'max_us' = our median at
# most x microseconds; 'img_s' = our img/s at least eager's.
# 'max_gap' = the share of a CUDA-graph step the GPU waits for the host at most x (GpuBench's graph_gap_fraction).
TARGETS = [
    (("attention", "B256_H12_S50_D64_fwdbwd", "BF16"), "speedup", 3.0),
    (("attention", "B256_H12_S197_D64_fwdbwd", "BF16"), "speedup", 1.5),
    (("layernorm", "50432x768_fwd", "F32"), "of_copy", 0.85),
    (("layernorm", "50432x768_fwd", "BF16"), "of_copy", 0.85),
    (("conv2d", "N256_C64_K64_H56_nhwc", "BF16"), "of_torch_tflops", 0.6),
    (("conv2d", "N256_C128_K128_H28_nhwc", "BF16"), "of_torch_tflops", 0.6),
    (("conv2d", "N256_C256_K256_H14_nhwc", "BF16"), "of_torch_tflops", 0.6),
    (("conv2d", "N256_C3_K32_H112_nhwc", "BF16"), "of_torch_tflops", 0.6),
    (("conv2d", "N256_C64_K64_H56_nhwc", "BF16"), "of_cudnn", 0.6),
    (("conv2d", "N256_C128_K128_H28_nhwc", "BF16"), "of_cudnn", 0.6),
    (("conv2d", "N256_C256_K256_H14_nhwc", "BF16"), "of_cudnn", 0.6),
    (("conv2d", "N256_C3_K32_H112_nhwc", "BF16"), "of_cudnn", 0.6),
    (("launch", "fill1_issue", "F32"), "max_us", 5.0),
    (("vit_b32_train", "batch256", "BF16"), "img_s", 1.0),
    (("vit_b32_train", "batch256_cuda_graphs", "BF16"), "max_gap", 0.05),
]


def read_json_lines(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    except OSError:
        pass
    return out


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def junit(path):
    """{'tests successful': n, ...} from the console launcher's summary lines."""
    text = read_text(path)
    if text is None:
        return None
    counts = {}
    for m in re.finditer(r"\[\s*(\d+) (tests|containers) (\w+)\s*\]", text):
        counts[f"{m.group(2)} {m.group(3)}"] = int(m.group(1))
    return counts


def key(r):
    return (r.get("bench"), r.get("variant"), r.get("dtype"))


def metric(r):
    """(value, unit, higher_is_better) of the figure a row is judged by."""
    for k, unit in (("img_per_s", "img/s"), ("TFLOPs", "TFLOP/s"), ("TBps", "TB/s")):
        if r.get(k) is not None:
            return r[k], unit, True
    if r.get("median_us") is not None:
        return r["median_us"], "us", False
    return None, "", True


def fmt(r):
    if r is None:
        return "-"
    if r.get("status") != "ok":
        return r.get("status", "?")
    v, unit, _ = metric(r)
    if v is None:
        return "ok"
    return f"{v:.4g} {unit}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--bundle", default="")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args()
    w = a.work

    stages = []
    try:
        with open(os.path.join(w, "stages.tsv"), encoding="utf-8") as f:
            stages = list(csv.DictReader(f, delimiter="\t"))
    except OSError:
        pass
    ours_run = None
    try:
        with open(os.path.join(w, "gpubench.json"), encoding="utf-8") as f:
            ours_run = json.load(f)
    except (OSError, json.JSONDecodeError):
        pass
    ours = {key(r): r for r in (ours_run or {}).get("results", [])}
    torch_lines = []
    for path in sorted(glob.glob(os.path.join(w, "torch-*.jsonl"))):
        torch_lines.extend(read_json_lines(path))
    eager, comp, torch_only = {}, {}, []
    for line in torch_lines:
        for r in line.get("results", []):
            (comp if r.get("impl") == "compile" else eager)[key(r)] = r
    bundle_info = read_text(os.path.join(a.bundle, "BUNDLE")) if a.bundle else None

    # rows: ours first (in GpuBench's order), then PyTorch-only keys
    keys = list(ours)
    for k in list(eager) + list(comp):
        if k not in keys:
            keys.append(k)
    rows = []
    for k in keys:
        o, e, c = ours.get(k), eager.get(k), comp.get(k)
        ratio = None
        if o and e and o.get("status") == "ok" and e.get("status") == "ok" and o.get("median_us") and e.get("median_us"):
            ratio = round(e["median_us"] / o["median_us"], 3)  # > 1: ours is faster
        rows.append({"bench": k[0], "variant": k[1], "dtype": k[2], "ours": o, "torch_eager": e,
                     "torch_compile": c, "speedup_vs_eager": ratio})

    targets = []
    for k, kind, x in TARGETS:
        o, e = ours.get(k), eager.get(k)
        ok_o = o is not None and o.get("status") == "ok"
        ok_e = e is not None and e.get("status") == "ok"
        value, met = None, None
        if kind == "speedup" and ok_o and ok_e:
            value = e["median_us"] / o["median_us"]
        elif kind == "of_copy" and ok_o:
            value = o.get("of_copy")
        elif kind == "of_torch_tflops" and ok_o and ok_e and e.get("TFLOPs"):
            value = o.get("TFLOPs", 0) / e["TFLOPs"]
        elif kind == "of_cudnn" and ok_o:
            value = o.get("of_cudnn")
        elif kind == "max_us" and ok_o:
            value = o["median_us"]
        elif kind == "img_s" and ok_o and ok_e:
            value = o["img_per_s"] / e["img_per_s"]
        elif kind == "max_gap" and ok_o:
            value = o.get("graph_gap_fraction")
        if value is not None and not a.dry_run:
            met = value <= x if kind in ("max_us", "max_gap") else value >= x
        targets.append({"bench": k[0], "variant": k[1], "dtype": k[2], "kind": kind, "target": x,
                        "value": None if value is None else round(value, 3), "met": met,
                        "note": None if value is not None else "not measured (see the rows' status)"})

    summary = {
        "dry_run": a.dry_run,
        "bundle": bundle_info,
        "gpu": read_text(os.path.join(w, "smi.csv")),
        "stages": stages,
        "tests_gpu": junit(os.path.join(w, "tests.summary")),
        "tests_parity": junit(os.path.join(w, "parity.summary")),
        "ours_run": {k: v for k, v in (ours_run or {}).items() if k != "results"},
        "torch_runs": [{k: v for k, v in line.items() if k != "results"} for line in torch_lines],
        "rows": rows,
        "targets": targets,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)

    # ---- the table, printed last ----
    print()
    if a.dry_run:
        print("DRY RUN on the CPU with tiny shapes: the figures below check the scripts, they measure nothing.")
    print(f"GPU: {(summary['gpu'] or 'none').strip()}")
    for name in ("tests_gpu", "tests_parity"):
        c = summary[name]
        if c is not None:
            print(f"{name}: {c.get('tests successful', 0)} passed, {c.get('tests failed', 0)} failed, "
                  f"{c.get('tests aborted', 0)} aborted/skipped-by-assumption, {c.get('tests skipped', 0)} skipped "
                  f"(of {c.get('tests found', 0)} found)")
    for s in stages:
        if s.get("status") != "ok":
            print(f"stage {s.get('stage')}: {s.get('status')}")
    if ours_run is None:
        print("ours: no GpuBench results (see the log)")
    elif ours_run.get("status") not in ("ok", "some failed"):
        print(f"ours: {ours_run.get('status')}: {ours_run.get('error', '')}")
    if not rows:
        print("no benchmark ran: nothing to tabulate")
        print(f"json: {a.json}")
        return 0
    header = ("bench", "variant", "dtype", "ours", "torch eager", "torch compile", "ours speedup")
    table = [header]
    for r in rows:
        table.append((r["bench"], r["variant"], r["dtype"], fmt(r["ours"]), fmt(r["torch_eager"]),
                      fmt(r["torch_compile"]),
                      "-" if r["speedup_vs_eager"] is None else f"{r['speedup_vs_eager']:.2f}x"))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(str(v).ljust(widths[j]) for j, v in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * wd for wd in widths))
    print("ours speedup = PyTorch eager time / ours (>1: ours faster). Errors: see gpu-check.json rows[].ours.error.")
    print("conv2d_cudnn rows: cuDNN through the engine's own conv2d call (--conv cudnn), next to our conv2d rows; "
          "of_cudnn = ours TFLOP/s / that.")
    print("targets (issue 4)" + (": not judged in a dry run" if a.dry_run else "") + ":")
    for t in targets:
        state = "n/a" if t["met"] is None else ("MET" if t["met"] else "missed")
        print(f"  {t['bench']} {t['variant']} {t['dtype']}: {t['kind']} {t['value']} vs {t['target']}: {state}")
    print(f"json: {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
