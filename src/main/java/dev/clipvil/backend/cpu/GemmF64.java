package dev.clipvil.backend.cpu;

/**
 * F64 GEMM, one output row at a time, reading strided operands in place. F64 is for finite-difference
 * gradient checks on small shapes, so it favours obvious correctness over speed.
 */
final class GemmF64 {
    private GemmF64() {}

    /**
     * {@code c[co + j] = bias[bo + j*bs] + sum_p a[ao + p*acs] * b[bOff + p*brs + j*bcs]} for j in [0, n);
     * {@code bias} may be null.
     */
    static void row(int k, int n, double[] a, int ao, int acs, double[] b, int bOff, int brs, int bcs,
                    double[] c, int co, double[] bias, int bo, int bs) {
        for (int j = 0; j < n; j++) c[co + j] = bias == null ? 0 : bias[bo + j * bs];
        for (int p = 0; p < k; p++) {
            double av = a[ao + p * acs];
            int br = bOff + p * brs;
            if (bcs == 1) {
                for (int j = 0; j < n; j++) c[co + j] += av * b[br + j];
            } else {
                for (int j = 0; j < n; j++) c[co + j] += av * b[br + j * bcs];
            }
        }
    }
}
