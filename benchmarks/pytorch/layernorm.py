"""Layer norm over the last dim of [50432, 768] (256*197 rows), weight and bias, eps 1e-5, in float32 and
bfloat16: forward and forward+backward, eager and torch.compile, and a device copy of the same tensor
(the bandwidth it is judged against). Bytes: read x + write y. Same as GpuBench's "layernorm" and "copy".
Prints one JSON line (benchcommon.py).
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

    def body():
        out = []
        impls = [("eager", ln)]
        if not args.no_compile:
            impls.append(("compile", bc.compiled(torch, ln)))
        for dt in dtypes:
            dn = bc.dtype_name(dt)
            g = torch.Generator(device=dev).manual_seed(11)
            x = torch.randn(rows, c, device=dev, dtype=dt, generator=g)
            gy = torch.randn(rows, c, device=dev, dtype=dt, generator=g)
            w = torch.randn(c, device=dev, dtype=dt, generator=g)
            b = torch.randn(c, device=dev, dtype=dt, generator=g)
            y = torch.empty_like(x)
            nbytes = 2.0 * x.numel() * x.element_size()
            copy_t = bc.time_fn(torch, lambda: y.copy_(x), dev)
            out.append(bc.result("copy", shape, dn, "eager", copy_t, nbytes=nbytes))
            xg, wg, bg = (t.detach().clone().requires_grad_(True) for t in (x, w, b))
            for impl, f in impls:
                try:
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        f(x, w, b)
                    first = time.perf_counter() - t0

                    def fwd():
                        with torch.no_grad():
                            f(x, w, b)

                    t = bc.time_fn(torch, fwd, dev)
                    out.append(bc.result(BENCH, shape + "_fwd", dn, impl, t, nbytes=nbytes, first_call_s=round(first, 2),
                                         of_copy=round(copy_t["median_us"] / t["median_us"], 3)))
                except Exception as e:  # noqa: BLE001
                    out.append(bc.failed(BENCH, shape + "_fwd", dn, impl, e))
                try:
                    def fwdbwd():
                        xg.grad = wg.grad = bg.grad = None
                        f(xg, wg, bg).backward(gy)

                    t0 = time.perf_counter()
                    fwdbwd()
                    first = time.perf_counter() - t0
                    out.append(bc.result(BENCH, shape + "_fwdbwd", dn, impl, bc.time_fn(torch, fwdbwd, dev),
                                         first_call_s=round(first, 2)))
                except Exception as e:  # noqa: BLE001
                    out.append(bc.failed(BENCH, shape + "_fwdbwd", dn, impl, e))
            del x, gy, y, xg, wg, bg
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
