"""Layer norm over the last dim of [50432, 768] (256*197 rows), weight and bias, eps 1e-5, in float32 and
bfloat16: forward and forward+backward, eager and torch.compile, and a device copy of the same tensor
(the bandwidth it is judged against). Bytes: read x + write y. Same as GpuBench's "layernorm" and "copy".
All eager variants run before the compiled ones. Prints one JSON line (benchcommon.py).
"""
import time

import benchcommon as bc

BENCH = "layernorm"


def main():
    args = bc.parser(__doc__).parse_args()
    torch = bc.start(BENCH, args)
    import torch.nn.functional as F

    dev = args.device
    rows, c = (64, 48) if args.quick else (256 * 197, 768)
    dtypes = [torch.float32] if args.quick else [torch.float32, torch.bfloat16]
    shape = f"{rows}x{c}"

    def ln(x, w, b):
        return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)

    def inputs(dt):
        g = torch.Generator(device=dev).manual_seed(11)
        return tuple(torch.randn(*sh, device=dev, dtype=dt, generator=g) for sh in ((rows, c), (rows, c), (c,), (c,)))

    def body():
        out = []
        copy_us = {}
        for dt in dtypes:
            x, _, _, _ = inputs(dt)
            y = torch.empty_like(x)
            t = bc.time_fn(torch, lambda: y.copy_(x), dev)
            copy_us[dt] = t["median_us"]
            out.append(bc.result("copy", shape, bc.dtype_name(dt), "eager", t, nbytes=2.0 * x.numel() * x.element_size()))
            del x, y
        impls = [("eager", ln)]
        if not args.no_compile:
            impls.append(("compile", bc.compiled(torch, ln)))
        for impl, f in impls:
            for dt in dtypes:
                dn = bc.dtype_name(dt)
                if bc.over_budget():
                    out += [bc.skipped(BENCH, shape + sfx, dn, impl) for sfx in ("_fwd", "_fwdbwd")]
                    continue
                x, gy, w, b = inputs(dt)
                xg, wg, bg = (t.detach().clone().requires_grad_(True) for t in (x, w, b))
                nbytes = 2.0 * x.numel() * x.element_size()

                def fwd():
                    with torch.no_grad():
                        f(x, w, b)

                def fwdbwd():
                    xg.grad = wg.grad = bg.grad = None
                    f(xg, wg, bg).backward(gy)

                for sfx, fn in (("_fwd", fwd), ("_fwdbwd", fwdbwd)):
                    try:
                        t0 = time.perf_counter()
                        fn()
                        first = time.perf_counter() - t0
                        t = bc.time_fn(torch, fn, dev)
                        extra = {"first_call_s": round(first, 2)}
                        if sfx == "_fwd":
                            extra["of_copy"] = round(copy_us[dt] / t["median_us"], 3)
                        out.append(bc.result(BENCH, shape + sfx, dn, impl, t, nbytes=nbytes if sfx == "_fwd" else 0,
                                             **extra))
                    except Exception as e:  # noqa: BLE001
                        out.append(bc.failed(BENCH, shape + sfx, dn, impl, e))
                del x, gy, w, b, xg, wg, bg
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
