package dev.clipvil.ops;

import dev.clipvil.backend.Backend;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Helpers of ops that need non-recorded reshapes of tensors the graph does not track (indices, gradients). */
final class OpUtil {
    private OpUtil() {}

    /** {@code t} with another shape, without autograd: a view when contiguous, else a contiguous copy. A new handle. */
    static Tensor reshaped(Backend be, Tensor t, int... shape) {
        if (t.isContiguous()) return t.asStrided(shape, Shapes.contiguousStrides(shape), t.offset());
        Tensor c = be.contiguous(t);
        Tensor r = c.asStrided(shape, Shapes.contiguousStrides(shape), c.offset());
        c.close();
        return r;
    }

    /** A 0-d or one-element {@code t} broadcast (stride 0) to {@code shape}: a new handle. */
    static Tensor broadcastScalar(Tensor t, int[] shape) {
        return t.asStrided(shape, new int[shape.length], t.offset());
    }
}
