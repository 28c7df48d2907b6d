// Runs kernels/random.cu on the host emulator (or, built by nvcc, on the GPU), launched as
// backend/cuda/CudaRandom.java does: random_subset (one block of 256 threads) must give k distinct
// ascending indices equal to the CPU backend's choice (CpuRandom.subsetIndices, ported here: keys are
// SplitMix64's finaliser of seed + golden * (i + 1), the k smallest unsigned keys, ties by index,
// sorted); uniform / normal / dropout values must depend on the logical index only (same bits for any
// grid and through a transposed destination) and have the right range and moments.
#include "emu.h"
#include "../random.cu"
#include "emu_util.h"

static std::vector<int> cpu_subset(int total, int k, unsigned long long seed) {
    std::vector<unsigned long long> keys(total);
    std::vector<int> order(total);
    for (int i = 0; i < total; i++) {
        unsigned long long z = seed + 0x9E3779B97F4A7C15ull * (unsigned long long)(i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        keys[i] = z ^ (z >> 31);
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](int a, int b) { return keys[a] != keys[b] ? keys[a] < keys[b] : a < b; });
    std::vector<int> out(order.begin(), order.begin() + k);
    std::sort(out.begin(), out.end());
    return out;
}

static void run_subset(int total, int k, unsigned long long seed, bool viaPtr) {
    vec<int> dst(k + 4, -7);
    vec<unsigned long long> slot(1, seed);
    LAUNCH(random_subset, dim3(1), dim3(256), dst.data(), total, k, viaPtr ? 0ull : seed, viaPtr ? slot.data() : nullptr);
    std::vector<int> want = cpu_subset(total, k, seed);
    bool ok = true, asc = true;
    for (int j = 0; j < k; j++) {
        ok = ok && dst[j] == want[j];
        if (j) asc = asc && dst[j] > dst[j - 1];
    }
    for (int j = k; j < k + 4; j++) ok = ok && dst[j] == -7;  // nothing written past k
    std::printf("%s random_subset total %d k %d seed %llx%s: %s\n", ok && asc ? "ok  " : "FAIL", total, k, seed, viaPtr ? " (seed slot)" : "",
                ok ? "equals CpuRandom.subsetIndices, distinct, ascending" : "differs from CpuRandom.subsetIndices");
    if (!(ok && asc)) {
        emu_failures++;
        for (int j = 0; j < std::min(k, 8); j++) std::printf("      [%d] got %d want %d\n", j, dst[j], want[j]);
    }
}

static void report(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) emu_failures++;
}

static void run_dists(int dt) {
    const int R = 37, C = 41, N = R * C;
    const unsigned long long seed = 0xC0FFEE1234ull;
    ivec shape{R, C}, cst = emu_contig(shape), tst{1, R};
    std::string t = std::string(" ") + emu_dtname(dt) + " [37, 41]";
    // uniform: contiguous with the Java grid, transposed with one block: same value per logical index
    EmuBuf a(dt, N), b(dt, N);
    LAUNCH(random_uniform, dim3(emu_grid_for(N)), dim3(256), a.data(), dt, -2.0, 3.0, seed, emu_geom(shape, {cst}));
    LAUNCH(random_uniform, dim3(1), dim3(256), b.data(), dt, -2.0, 3.0, seed, emu_geom(shape, {tst}));
    bool same = true, range = true;
    double mean = 0;
    for (int i = 0; i < N; i++) {
        float v = a.get(i);
        same = same && v == b.get(emu_offset(shape, tst, i));
        range = range && v >= -2.0f && v <= 3.0f;  // <= : rounding to the dtype may reach hi
        mean += v / N;
    }
    report(same, "random_uniform same values for any grid and a transposed destination" + t);
    report(range && std::fabs(mean - 0.5) < 0.1, "random_uniform in [-2, 3), mean " + std::to_string(mean) + t);
    // normal
    LAUNCH(random_normal, dim3(emu_grid_for(N)), dim3(256), a.data(), dt, 1.0, 2.0, seed, emu_geom(shape, {cst}));
    LAUNCH(random_normal, dim3(1), dim3(256), b.data(), dt, 1.0, 2.0, seed, emu_geom(shape, {tst}));
    same = true;
    double s = 0, q = 0;
    for (int i = 0; i < N; i++) {
        float v = a.get(i);
        same = same && v == b.get(emu_offset(shape, tst, i));
        s += v;
        q += (double)v * v;
    }
    double m = s / N, sd = std::sqrt(q / N - m * m);
    report(same, "random_normal same values for any grid and a transposed destination" + t);
    report(std::fabs(m - 1.0) < 0.1 && std::fabs(sd - 2.0) < 0.1, "random_normal mean " + std::to_string(m) + " std " + std::to_string(sd) + t);
    // dropout mask, and its device-seed form
    const double p = 0.3, keep = 1.0 / (1.0 - p);
    vec<unsigned long long> slot(1, seed);
    LAUNCH(random_dropout_mask, dim3(emu_grid_for(N)), dim3(256), a.data(), dt, N, p, keep, seed);
    LAUNCH(random_dropout_mask_dev, dim3(1), dim3(256), b.data(), dt, N, p, keep, slot.data());
    same = true;
    bool vals = true;
    int zeros = 0;
    EmuBuf k1(dt, 1);
    k1.set(0, (float)keep);
    float kv = k1.get(0);  // 1 / (1 - p) rounded to the dtype
    for (int i = 0; i < N; i++) {
        float v = a.get(i);
        same = same && v == b.get(i);
        vals = vals && (v == 0.0f || v == kv);
        zeros += v == 0.0f;
    }
    report(same, "random_dropout_mask equals random_dropout_mask_dev (seed slot, grid 1)" + t);
    report(vals && std::fabs((double)zeros / N - p) < 0.05, "random_dropout_mask values {0, 1/(1-p)}, zero fraction " + std::to_string((double)zeros / N) + t);
}

int main() {
    run_subset(49, 10, 1, false);
    run_subset(49, 10, 1, true);
    run_subset(50, 49, 0xFFFFFFFFFFFFFFFFull, false);
    run_subset(257, 100, 0x8000000000000001ull, false);
    run_subset(1000, 1, 42, false);
    run_subset(1, 1, 7, false);
    run_subset(300, 0, 7, false);
    run_subset(4096, 4096, 3, false);
    run_subset(4096, 1234, 0x123456789ABCDEFull, true);
    for (int dt : {DT_F32, DT_BF16, DT_F16}) run_dists(dt);
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
