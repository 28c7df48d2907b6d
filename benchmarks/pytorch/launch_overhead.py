"""What one kernel launch costs from Python/PyTorch, to set beside GpuBench's "launch" case.

fill1_issue: t.fill_(0) on a one-element tensor, thousands back to back, host clock around them and one
synchronise (the host-side cost per launch); fill1_roundtrip: one fill plus torch.cuda.synchronize();
empty_kernel_issue: torch.cuda._sleep(0), the closest thing to an empty kernel PyTorch exposes;
fill1_graph_replay: 1000 fills captured in a CUDA graph, replayed (cost per kernel inside a graph).
Prints one JSON line (benchcommon.py).
"""
import time

import benchcommon as bc

BENCH = "launch"


def host_us_per_call(torch, fn, cuda, n, repeats=15):
    """Median over repeats of host microseconds per call for n calls followed by one synchronise."""
    def sync():
        if cuda:
            torch.cuda.synchronize()

    for _ in range(100):
        fn()
    sync()
    us = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        us.append((time.perf_counter() - t) * 1e6 / n)
    us.sort()
    return {"median_us": round(us[len(us) // 2], 3), "min_us": round(us[0], 3), "samples": len(us),
            "calls_per_sample": n, "clock": "host perf_counter around n calls + synchronize"}


def main():
    args = bc.parser(__doc__).parse_args()
    torch = bc.start(BENCH, args)
    dev = args.device
    cuda = dev.startswith("cuda")
    n = 200 if args.quick else 5000

    def body():
        out = []
        t = torch.zeros(1, device=dev)
        out.append(bc.result(BENCH, "fill1_issue", "F32", "eager", host_us_per_call(torch, lambda: t.fill_(0), cuda, n)))

        def roundtrip():
            t.fill_(0)
            if cuda:
                torch.cuda.synchronize()

        out.append(bc.result(BENCH, "fill1_roundtrip", "F32", "eager", host_us_per_call(torch, roundtrip, cuda, n // 5)))
        if cuda and hasattr(torch.cuda, "_sleep"):
            try:
                out.append(bc.result(BENCH, "empty_kernel_issue", "-", "eager",
                                     host_us_per_call(torch, lambda: torch.cuda._sleep(0), cuda, n)))
            except Exception as e:  # noqa: BLE001
                out.append(bc.failed(BENCH, "empty_kernel_issue", "-", "eager", e))
        if cuda:
            try:
                per_graph = 1000
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    for _ in range(3):
                        t.fill_(0)
                torch.cuda.current_stream().wait_stream(s)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    for _ in range(per_graph):
                        t.fill_(0)
                timing = bc.time_fn(torch, graph.replay, dev, min_sample_ms=5)
                for key in ("median_us", "min_us"):
                    timing[key] = round(timing[key] / per_graph, 4)
                timing["kernels_per_graph"] = per_graph
                out.append(bc.result(BENCH, "fill1_graph_replay", "F32", "graph", timing))
            except Exception as e:  # noqa: BLE001
                out.append(bc.failed(BENCH, "fill1_graph_replay", "F32", "graph", e))
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
