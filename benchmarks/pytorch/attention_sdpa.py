"""Scaled-dot-product attention, forward and forward+backward, PyTorch eager and torch.compile.

q, k, v [B, H, S, D] = [256, 12, S, 64] in bf16, S = 50 and 197, no mask, not causal, scale 1/sqrt(D),
the same as the engine's GpuBench "attention" case. FLOP: forward 4*B*H*S*S*D, forward+backward 3.5x.
All eager variants run before the compiled ones. Prints one JSON line (benchcommon.py).
"""
import time

import benchcommon as bc

BENCH = "attention"


def main():
    p = bc.parser(__doc__)
    p.add_argument("--seqs", default="50,197")
    args = p.parse_args()
    torch = bc.start(BENCH, args)
    import torch.nn.functional as F

    dev = args.device
    if args.quick:
        b, h, d, seqs, dtype = 2, 2, 16, [5, 9], torch.float32
    else:
        b, h, d, seqs, dtype = 256, 12, 64, [int(s) for s in args.seqs.split(",")], torch.bfloat16
    dn = bc.dtype_name(dtype)

    def sdpa_fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v)

    def inputs(s):
        g = torch.Generator(device=dev).manual_seed(s)
        q, k, v, go = (torch.randn(b, h, s, d, device=dev, dtype=dtype, generator=g) for _ in range(4))
        return q, k, v, go

    def body():
        out = []
        impls = [("eager", sdpa_fn)]
        if not args.no_compile:
            impls.append(("compile", bc.compiled(torch, sdpa_fn)))
        for impl, sdpa in impls:
            for s in seqs:
                variant = f"B{b}_H{h}_S{s}_D{d}"
                flop = 4.0 * b * h * s * s * d
                if bc.over_budget():
                    out += [bc.skipped(BENCH, variant + sfx, dn, impl) for sfx in ("_fwd", "_fwdbwd")]
                    continue
                q, k, v, go = inputs(s)
                qg, kg, vg = (t.detach().clone().requires_grad_(True) for t in (q, k, v))

                def fwd():
                    with torch.no_grad():
                        sdpa(q, k, v)

                def fwdbwd():
                    qg.grad = kg.grad = vg.grad = None
                    sdpa(qg, kg, vg).backward(go)

                for sfx, fn, fl in (("_fwd", fwd, flop), ("_fwdbwd", fwdbwd, 3.5 * flop)):
                    try:
                        t0 = time.perf_counter()
                        fn()
                        first = time.perf_counter() - t0
                        out.append(bc.result(BENCH, variant + sfx, dn, impl, bc.time_fn(torch, fn, dev), flop=fl,
                                             first_call_s=round(first, 2)))
                    except Exception as e:  # noqa: BLE001
                        out.append(bc.failed(BENCH, variant + sfx, dn, impl, e))
                del q, k, v, go, qg, kg, vg
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
