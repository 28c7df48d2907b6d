package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.Device;

/**
 * For tests outside this package: a dry-run CUDA device (no GPU; launches are checked against the
 * kernel sources, values are not computed) with its backend registered, so a model's whole training
 * step can be driven on it to catch tensors left on the host.
 */
public final class DryRunDevice {
    public static final int INDEX = 62;

    private DryRunDevice() {}

    public static synchronized Device install() {
        CudaContext ctx = CudaContext.installDryRun(INDEX);
        try {
            Backends.of(ctx.device());
        } catch (IllegalStateException notYet) {
            Backends.register(new CudaBackend(ctx));
        }
        return ctx.device();
    }

    /** Launches of kernel {@code name} (e.g. "clipvil_ln_fwd_f32") the dry-run contexts have checked so far. */
    public static int launches(String name) {
        int n = 0;
        for (var e : DryRun.launches().entrySet()) if (e.getKey().endsWith("/" + name)) n += e.getValue();
        return n;
    }

    /** Bytes moved by device copy and cast kernels the dry-run contexts have issued so far. */
    public static long copyBytes() { return DryRun.copyBytes(); }

    /** The part of {@link #copyBytes} moved by dtype conversions (F32 <-> BF16 casts). */
    public static long castBytes() { return DryRun.castBytes(); }

    /** Launches of every kernel the dry-run contexts have checked so far. */
    public static int launches() {
        int n = 0;
        for (int v : DryRun.launches().values()) n += v;
        return n;
    }

    /** GEMMs the dry-run contexts have issued so far with {@code dtype} operands. */
    public static long gemms(dev.clipvil.tensor.DType dtype) { return DryRun.gemms(dtype); }

    /** GEMMs the dry-run contexts have issued so far with BF16/F16 operands and an F32 output (mixed-output GEMMs). */
    public static long mixedGemms() { return DryRun.mixedGemms(); }

    /** GEMMs the dry-run contexts have issued so far with their bias added in cuBLASLt's epilogue. */
    public static long biasEpilogueGemms() { return DryRun.biasEpilogues(); }
}
