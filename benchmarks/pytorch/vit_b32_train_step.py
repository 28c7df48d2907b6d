"""One training step of CLIP's ViT-B/32 image tower, batch 256, in PyTorch: the same model and step as
GpuBench's "vit_b32_train" case.

Model: OpenAI CLIP's VisionTransformer layout (conv1 32x32/32 without bias, class token, positional
embedding, ln_pre, 12 pre-LN blocks of width 768 with 12 heads and a QuickGELU MLP of 3072, ln_post on
the class token, projection to 512), random weights, attention through scaled_dot_product_attention.
Step: forward on random pixels [256, 3, 224, 224], cross-entropy of the 512-d projection against random
class ids, backward, fused AdamW (lr 1e-4, weight decay 0.1), zero_grad(set_to_none).
Precisions: BF16 autocast (the issue's target; eager, and torch.compile last), TF32 and strict F32 (eager).
img_per_s = batch / median step time (CUDA events, 3 warm-up steps). Prints one JSON line (benchcommon.py).
"""
import time

import benchcommon as bc

BENCH = "vit_b32_train"


def build(torch, res, patch, width, layers, heads, out_dim):
    nn = torch.nn
    F = torch.nn.functional

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = heads
            self.ln_1 = nn.LayerNorm(width)
            self.in_proj = nn.Linear(width, 3 * width)
            self.out_proj = nn.Linear(width, width)
            self.ln_2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), QuickGELU(), nn.Linear(4 * width, width))

        def forward(self, x):
            b, s, w = x.shape
            qkv = self.in_proj(self.ln_1(x)).view(b, s, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
            x = x + self.out_proj(a.transpose(1, 2).reshape(b, s, w))
            return x + self.mlp(self.ln_2(x))

    class VisionTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            scale = width ** -0.5
            grid = res // patch
            self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
            self.class_embedding = nn.Parameter(scale * torch.randn(width))
            self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
            self.ln_pre = nn.LayerNorm(width)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln_post = nn.LayerNorm(width)
            self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

        def forward(self, x):
            x = self.conv1(x).flatten(2).transpose(1, 2)
            cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
            x = self.blocks(self.ln_pre(x))
            return self.ln_post(x[:, 0, :]) @ self.proj

    return VisionTransformer()


def main():
    p = bc.parser(__doc__)
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    torch = bc.start(BENCH, args)
    dev = args.device
    cuda = dev.startswith("cuda")
    if args.quick:
        batch, cfg, variant = 4, (32, 16, 32, 2, 2, 16), "batch4_tiny"
    else:
        batch, cfg, variant = 256, (224, 32, 768, 12, 12, 512), "batch256"
    res, out_dim = cfg[0], cfg[5]

    def one_config(precision, impl):
        torch.manual_seed(0)
        torch.backends.cuda.matmul.allow_tf32 = precision == "TF32"
        torch.backends.cudnn.allow_tf32 = precision == "TF32"
        model = build(torch, *cfg).to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, **({"fused": True} if cuda else {}))
        g = torch.Generator(device=dev).manual_seed(31)
        pixels = torch.randn(batch, 3, res, res, device=dev, generator=g)
        labels = torch.randint(0, out_dim, (batch,), device=dev, generator=g)
        fwd = bc.compiled(torch, model) if impl == "compile" else model
        autocast = torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16,
                                  enabled=precision == "BF16")

        def step():
            with autocast:
                logits = fwd(pixels)
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss

        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        first = time.perf_counter() - t0
        timing = bc.time_fn(torch, step, dev, warmup=2, samples=args.steps, min_sample_ms=0, max_s=60)
        loss = float(step().detach())
        extra = {"img_per_s": round(batch / (timing["median_us"] * 1e-6), 1),
                 "step_ms": round(timing["median_us"] / 1e3, 3), "first_call_s": round(first, 2),
                 "loss_after": round(loss, 4)}
        if cuda:
            extra["peak_mem_GB"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
        del model, opt, pixels, labels, fwd
        if cuda:
            torch.cuda.empty_cache()
        return bc.result(BENCH, variant, precision, impl, timing, **extra)

    def body():
        out = []
        configs = [("BF16", "eager"), ("TF32", "eager"), ("F32", "eager")]
        if not args.no_compile:
            configs.append(("BF16", "compile"))
        for precision, impl in configs:
            if bc.over_budget():
                out.append(bc.skipped(BENCH, variant, precision, impl))
                continue
            try:
                out.append(one_config(precision, impl))
            except Exception as e:  # noqa: BLE001
                out.append(bc.failed(BENCH, variant, precision, impl, e))
        return out

    bc.run_main(BENCH, body)


if __name__ == "__main__":
    main()
