package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;

import dev.clipvil.tensor.Tensor;

/** Fill, strided copy with broadcasting and dtype conversion, contiguous and cast. */
final class CpuCopy {
    private CpuCopy() {}

    static void fill(Tensor dst, double value) {
        HostStorage h = dst.hostStorage();
        int[] shape = dst.shape();
        if (dst.numel() == 0) return;
        if (dst.isContiguous()) {
            int o = dst.offset(), n = dst.numel();
            switch (dst.dtype()) {
                case F32: {
                    float[] a = h.f32();
                    float v = (float) value;
                    Parallel.forRange(n, 1 << 16, (s, e) -> java.util.Arrays.fill(a, o + s, o + e, v));
                    return;
                }
                case F64: {
                    double[] a = h.f64();
                    Parallel.forRange(n, 1 << 15, (s, e) -> java.util.Arrays.fill(a, o + s, o + e, value));
                    return;
                }
                default:
                    for (int i = 0; i < n; i++) h.setDouble(o + i, value);
                    return;
            }
        }
        int[] st = dst.strides();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int cs = shape.length == 0 ? 0 : st[st.length - 1];
        int rows = dst.numel() / cols;
        for (int r = 0; r < rows; r++) {
            int o = Cpu.rowOffset(r, shape, st, dst.offset());
            for (int c = 0; c < cols; c++) h.setDouble(o + c * cs, value);
        }
    }

    static void copy(Tensor src, Tensor dst) {
        int[] shape = dst.shape();
        int[] ss = Cpu.broadcastStrides("copy", src, shape);
        int[] ds = dst.strides();
        int n = dst.numel();
        if (n == 0) return;
        HostStorage hs = src.hostStorage(), hd = dst.hostStorage();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = n / cols;
        int scs = shape.length == 0 ? 0 : ss[ss.length - 1];
        int dcs = shape.length == 0 ? 0 : ds[ds.length - 1];
        DType sd = src.dtype(), dd = dst.dtype();
        if (sd == DType.F32 && dd == DType.F32) {
            float[] a = hs.f32(), b = hd.f32();
            Parallel.forRange(rows, Math.max(1, 16384 / cols), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int so = Cpu.rowOffset(r, shape, ss, src.offset()), d0 = Cpu.rowOffset(r, shape, ds, dst.offset());
                    if (scs == 1 && dcs == 1) System.arraycopy(a, so, b, d0, cols);
                    else for (int c = 0; c < cols; c++) b[d0 + c * dcs] = a[so + c * scs];
                }
            });
            return;
        }
        if (sd == DType.F64 && dd == DType.F64) {
            double[] a = hs.f64(), b = hd.f64();
            Parallel.forRange(rows, Math.max(1, 16384 / cols), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int so = Cpu.rowOffset(r, shape, ss, src.offset()), d0 = Cpu.rowOffset(r, shape, ds, dst.offset());
                    for (int c = 0; c < cols; c++) b[d0 + c * dcs] = a[so + c * scs];
                }
            });
            return;
        }
        boolean integral = !sd.isFloating() && !dd.isFloating();
        Parallel.forRange(rows, Math.max(1, 16384 / cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int so = Cpu.rowOffset(r, shape, ss, src.offset()), d0 = Cpu.rowOffset(r, shape, ds, dst.offset());
                for (int c = 0; c < cols; c++) {
                    if (integral && dd == DType.I64) hd.i64()[d0 + c * dcs] = hs.getLong(so + c * scs);
                    else hd.setDouble(d0 + c * dcs, hs.getDouble(so + c * scs));
                }
            }
        });
    }

    static Tensor contiguous(Tensor x) {
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        copy(x, out);
        return out;
    }

    static Tensor cast(Tensor x, DType to) {
        Tensor out = Tensor.empty(to, x.shape());
        copy(x, out);
        return out;
    }

}
