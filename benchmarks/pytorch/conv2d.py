"""conv2d forward at ResNet-50 stage shapes, bfloat16, 3x3, stride 1, padding 1, no bias, N=256:
C=K=64 at 56x56, 128 at 28x28, 256 at 14x14, and the 3->32 stem at 112x112; channels_last ("nhwc",
input and weight) and contiguous ("nchw"). Eager is cuDNN (benchmark mode on): the reference the
engine's conv is judged against. torch.compile runs the channels_last layout only (it calls the same
cuDNN convolution; the figure shows what compile adds or costs). FLOP 2*N*K*C*9*H*W.
Same as GpuBench's "conv2d". All eager variants run first. Prints one JSON line (benchcommon.py).
"""
import time

import benchcommon as bc

BENCH = "conv2d"


def main():
    args = bc.parser(__doc__).parse_args()
    torch = bc.start(BENCH, args)
    import torch.nn.functional as F

    dev = args.device
    if args.quick:
        n, shapes, dt = 2, [(4, 8, 6), (3, 4, 7)], torch.float32
    else:
        n, shapes, dt = 256, [(64, 64, 56), (128, 128, 28), (256, 256, 14), (3, 32, 112)], torch.bfloat16
    dn = bc.dtype_name(dt)

    def conv(x, w):
        return F.conv2d(x, w, None, 1, 1)

    def body():
        out = []
        runs = [("eager", conv, layout) for layout in ("nhwc", "nchw")]
        if not args.no_compile:
            runs.append(("compile", bc.compiled(torch, conv), "nhwc"))
        for impl, f, layout in runs:
            fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
            for c, k, hw in shapes:
                variant = f"N{n}_C{c}_K{k}_H{hw}_{layout}"
                if bc.over_budget():
                    out.append(bc.skipped(BENCH, variant, dn, impl))
                    continue
                g = torch.Generator(device=dev).manual_seed(21)
                x = torch.randn(n, c, hw, hw, device=dev, dtype=dt, generator=g).contiguous(memory_format=fmt)
                w = torch.randn(k, c, 3, 3, device=dev, dtype=dt, generator=g).contiguous(memory_format=fmt)

                def fwd():
                    with torch.no_grad():
                        f(x, w)

                try:
                    t0 = time.perf_counter()
                    fwd()
                    first = time.perf_counter() - t0
                    out.append(bc.result(BENCH, variant, dn, impl, bc.time_fn(torch, fwd, dev),
                                         flop=2.0 * n * k * c * 9 * hw * hw, first_call_s=round(first, 2)))
                except Exception as e:  # noqa: BLE001
                    out.append(bc.failed(BENCH, variant, dn, impl, e))
                del x, w
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
