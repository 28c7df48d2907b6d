package dev.clipvil.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The libtorch side: F32 CPU tensors made from (and read back to) Java float arrays, and the thread
 * count rule. Loading this class loads libtorch's natives, so the clipvil runs never touch it.
 */
final class Torch {
    private Torch() {}

    /** A new contiguous F32 CPU tensor holding a copy of {@code data}. */
    static Tensor of(float[] data, long... shape) {
        Tensor t = torch.empty(shape); // the default dtype is float32
        // JavaCPP returns enum values by copy; intern() gives the constant.
        if (t.scalar_type().intern() != torch.ScalarType.Float || t.numel() != data.length) {
            throw new IllegalStateException("libtorch: expected a float tensor of " + data.length + " elements, got "
                    + t.scalar_type() + " with " + t.numel());
        }
        FloatPointer p = t.data_ptr_float();
        p.put(data, 0, data.length);
        return t;
    }

    static Tensor of(float[] data, int... shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) s[i] = shape[i];
        return of(data, s);
    }

    /** Elements of {@code t} in row-major order. */
    static float[] toArray(Tensor t) {
        try (Tensor c = t.contiguous()) {
            float[] out = new float[(int) c.numel()];
            c.data_ptr_float().get(out, 0, out.length);
            return out;
        }
    }

    /**
     * Gives libtorch's intra-op pool the engine's thread count and checks that it took. Must be called on
     * the thread that will run the ops (OpenMP's setting is per calling thread).
     */
    static int matchThreads(int threads) {
        torch.set_num_threads(threads);
        int got = torch.get_num_threads();
        if (got != threads) throw new IllegalStateException("libtorch runs " + got + " threads, wanted " + threads);
        return got;
    }

    /** libtorch's build and threading configuration, for the log. */
    static String config() {
        return torch.show_config().getString() + torch.get_parallel_info().getString();
    }
}
