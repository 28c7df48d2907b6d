package dev.clipvil.bench;

/**
 * The work one benchmark operation does: {@code amount} floating-point operations (unit GFLOP/s) or
 * bytes moved (unit GB/s), used to turn JMH's time per operation into a rate.
 */
record Work(double amount, String unit) {
    static Work flops(double n) { return new Work(n, "GFLOP/s"); }

    static Work bytes(double n) { return new Work(n, "GB/s"); }

    /** The rate reached when one operation takes {@code msPerOp} milliseconds. */
    double rate(double msPerOp) { return amount / (msPerOp * 1e-3) / 1e9; }
}
