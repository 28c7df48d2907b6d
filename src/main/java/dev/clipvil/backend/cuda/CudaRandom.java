package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * Random fills from a counter-based hash of (seed, element index) (kernels/random.cu): deterministic for
 * a seed whatever the launch shape; the CPU backend's distributions, not its bits. Inside a CUDA graph
 * capture a dropout mask reads its seed from a device slot of the graph ({@link CudaGraph#seedSlot},
 * kernel random_dropout_mask_dev), which each refresh rewrites with the seed the eager step would use.
 */
final class CudaRandom {
    static final Kernel UNIFORM = Kernel.of("random", "random_uniform");
    static final Kernel NORMAL = Kernel.of("random", "random_normal");
    static final Kernel DROPOUT = Kernel.of("random", "random_dropout_mask");
    static final Kernel DROPOUT_DEV = Kernel.of("random", "random_dropout_mask_dev");
    static final Kernel SUBSET = Kernel.of("random", "random_subset");
    static final int SUBSET_THREADS = 256;

    private CudaRandom() {}

    static void fillUniform(CudaContext ctx, Tensor dst, double lo, double hi, long seed) {
        DTypes.requireFloat("uniform_", dst.dtype());
        CudaOps.requireOn(ctx, "uniform_", dst);
        Geometry g = Geometry.of(dst.shape(), dst.strides());
        CudaOps.launch(ctx, UNIFORM, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).i32(CudaOps.dt(dst)).f64(lo).f64(hi).i64(seed).geom(g));
    }

    static void fillNormal(CudaContext ctx, Tensor dst, double mean, double std, long seed) {
        DTypes.requireFloat("normal_", dst.dtype());
        CudaOps.requireOn(ctx, "normal_", dst);
        Geometry g = Geometry.of(dst.shape(), dst.strides());
        CudaOps.launch(ctx, NORMAL, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).i32(CudaOps.dt(dst)).f64(mean).f64(std).i64(seed).geom(g));
    }

    /**
     * {@link dev.clipvil.backend.Backend#randomSubset}: one block ranks every key in shared memory
     * (kernel random_subset); inside a capture the seed comes from a graph slot, like a dropout mask's.
     */
    static Tensor randomSubset(CudaContext ctx, int total, int k, long seed) {
        dev.clipvil.backend.cpu.CpuRandom.requireSubset(total, k);
        Tensor out = CudaOps.empty(ctx, DType.I32, k);
        if (k == 0) return out;
        CudaGraph capturing = ctx.capturing();
        long slot = capturing == null ? 0 : capturing.seedSlot("a random subset", seed);
        KernelLaunch.launch(ctx, SUBSET, 1, SUBSET_THREADS, 0,
                KernelArgs.begin().ptr(CudaOps.addr(out)).i32(total).i32(k).i64(capturing == null ? seed : 0).ptr(slot));
        return out;
    }

    static Tensor dropoutMask(CudaContext ctx, int[] shape, DType dtype, double p, long seed) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        DTypes.requireFloat("dropout", dtype);
        CudaGraph capturing = ctx.capturing();
        long slot = capturing == null ? 0 : capturing.seedSlot("a dropout mask", seed);
        Tensor out = CudaOps.empty(ctx, dtype, shape);
        KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).i32(out.numel()).f64(p).f64(1.0 / (1.0 - p));
        if (capturing == null) CudaOps.launchN(ctx, DROPOUT, out.numel(), a.i64(seed));
        else CudaOps.launchN(ctx, DROPOUT_DEV, out.numel(), a.ptr(slot));
        return out;
    }
}
