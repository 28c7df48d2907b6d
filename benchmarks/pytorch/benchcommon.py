"""Shared helpers of the PyTorch side of the GPU benchmarks (see README.md beside this file).

Every script prints exactly one JSON line on stdout:
    {"bench": ..., "status": "ok" | "unavailable" | "error", "torch": ..., "device": ..., "results": [...]}
Each result has the same keys as the engine's GpuBench results (bench, variant, dtype) plus "impl"
("eager" or "compile"), "median_us", "min_us", "samples" and a rate (TFLOPs, TBps or img_per_s).
"""
import argparse
import json
import math
import sys
import time
import traceback

DTYPE_NAMES = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--quick", action="store_true",
                   help="tiny shapes, few repeats: a check of the code paths (e.g. on the CPU)")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    p.add_argument("--budget-s", type=float, default=0,
                   help="stop starting new variants after this many seconds (0: no limit); the eager "
                        "variants run first, so a short budget drops torch.compile ones first")
    return p


_deadline = [None]


def set_budget(seconds):
    _deadline[0] = time.perf_counter() + seconds if seconds and seconds > 0 else None


def over_budget():
    return _deadline[0] is not None and time.perf_counter() > _deadline[0]


def skipped(bench, variant, dtype, impl):
    return {"bench": bench, "variant": variant, "dtype": dtype, "impl": impl, "status": "skipped",
            "error": "the script's --budget-s was spent"}


def emit(bench, status, results=(), **extra):
    """Prints the script's one JSON line."""
    line = {"bench": bench, "status": status}
    try:
        import torch
        line["torch"] = torch.__version__
        if torch.cuda.is_available():
            line["device"] = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - torch may be missing: say so through status
        pass
    line.update(extra)
    line["results"] = list(results)
    print(json.dumps(line), flush=True)


def start(bench, args):
    """Imports torch and checks the device; on failure prints an 'unavailable' line and exits 0."""
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        emit(bench, "unavailable", reason=f"torch cannot be imported: {e}")
        sys.exit(0)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        emit(bench, "unavailable", reason="torch.cuda.is_available() is False (no GPU or no driver)")
        sys.exit(0)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    set_budget(args.budget_s)
    return torch


def run_main(bench, body):
    """Runs body() -> list of results, printing the line; an exception becomes status 'error'."""
    try:
        results = body()
        emit(bench, "ok", results)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        emit(bench, "error", error=f"{type(e).__name__}: {e}")
        sys.exit(1)


def time_fn(torch, fn, device, warmup=3, samples=15, min_sample_ms=20.0, max_s=20.0):
    """Median microseconds per call of fn(): CUDA events around k calls per sample (k chosen so a sample
    lasts min_sample_ms), after warm-up; the host clock around a synchronise on the CPU."""
    cuda = str(device).startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for _ in range(warmup):
        fn()
    sync()
    t = time.perf_counter()
    fn()
    sync()
    one_ms = max(1e-4, (time.perf_counter() - t) * 1e3)
    k = int(max(1, min(100_000, math.ceil(min_sample_ms / one_ms))))
    us = []
    t_end = time.perf_counter() + max_s
    for _ in range(samples):
        if len(us) >= 3 and time.perf_counter() > t_end:
            break
        if cuda:
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(k):
                fn()
            b.record()
            b.synchronize()
            us.append(a.elapsed_time(b) * 1e3 / k)
        else:
            t = time.perf_counter()
            for _ in range(k):
                fn()
            us.append((time.perf_counter() - t) * 1e6 / k)
    us.sort()
    n = len(us)
    median = us[n // 2] if n % 2 else (us[n // 2 - 1] + us[n // 2]) / 2
    return {"median_us": round(median, 3), "min_us": round(us[0], 3), "samples": n, "calls_per_sample": k,
            "clock": "cuda events" if cuda else "host perf_counter"}


def result(bench, variant, dtype, impl, timing, flop=0.0, nbytes=0.0, **extra):
    r = {"bench": bench, "variant": variant, "dtype": dtype, "impl": impl, "status": "ok"}
    r.update(timing)
    if flop:
        r["TFLOPs"] = round(flop / (timing["median_us"] * 1e-6) / 1e12, 3)
    if nbytes:
        r["TBps"] = round(nbytes / (timing["median_us"] * 1e-6) / 1e12, 3)
    r.update(extra)
    return r


def failed(bench, variant, dtype, impl, e):
    """A result for a variant that raised (the script goes on with the others)."""
    traceback.print_exc(file=sys.stderr)
    return {"bench": bench, "variant": variant, "dtype": dtype, "impl": impl, "status": "error",
            "error": f"{type(e).__name__}: {e}"}


def compiled(torch, fn):
    """torch.compile(fn) with static shapes (each shape of a script gets its own graph, as eager has its
    own kernels); the caller times the first call (compilation) separately as first_call_s."""
    try:
        import torch._dynamo
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
    except Exception:  # noqa: BLE001 - an older torch: keep its default
        pass
    return torch.compile(fn, dynamic=False)


def dtype_name(dt):
    return DTYPE_NAMES.get(str(dt).replace("torch.", ""), str(dt))
