// Runs kernels/index.cu (index_check's fault record, index_select gathering raw elements of 1, 2, 4 or
// 8 bytes, index_add's atomic scatter into F32) on the host emulator (or, built by nvcc, on the GPU),
// launched as backend/cuda/CudaIndex.java does (index_check: one block of 256 threads; the others
// grid-stride with 256 threads, and with one block). Out-of-range indices must be recorded by index_check
// (the lowest bad position and its value, as the CPU backend reports; an earlier record stays) and skipped by the gather (zeros) and the scatter (nothing added).
#include "emu.h"
#include "../index.cu"
#include "emu_util.h"

static void check_faults(int idt, int stride, const std::vector<long long>& idx, long long size, long long ignore, int skipIgnore, unsigned grid) {
    int n = (int)idx.size();
    EmuBuf ib(idt, (size_t)n * stride);
    for (int j = 0; j < n; j++) ib.seti((size_t)j * stride, idx[j]);
    std::vector<int> bad;
    for (int j = 0; j < n; j++)
        if (!(skipIgnore && idx[j] == ignore) && (idx[j] < 0 || idx[j] >= size)) bad.push_back(j);
    const int CHECK = 7;
    vec<unsigned long long> fault(2, 0);
    LAUNCH(index_check, dim3(grid), dim3(256), ib.data(), idt, stride, n, size, ignore, skipIgnore, CHECK, fault.data());
    bool ok;
    char what[200];
    if (bad.empty()) {
        ok = fault[0] == 0 && fault[1] == 0;
        std::snprintf(what, sizeof what, "record stays clear (got word %llx)", fault[0]);
    } else {
        int pos = (int)(fault[0] & 0xffffffffu);
        ok = (fault[0] >> 32) == CHECK && pos == bad[0] && (long long)fault[1] == idx[pos];
        std::snprintf(what, sizeof what, "record = the lowest bad index (%zu bad, first at %d; got position %d value %lld)", bad.size(), bad[0], pos,
                      (long long)fault[1]);
    }
    std::printf("%s index_check %s n%d stride%d skipIgnore%d grid%u: %s\n", ok ? "ok  " : "FAIL", emu_dtname(idt), n, stride, skipIgnore, grid, what);
    if (!ok) emu_failures++;
    // an earlier record (another check) is kept
    if (!bad.empty()) {
        vec<unsigned long long> f2{(3ull << 32) | 5ull, 99};
        LAUNCH(index_check, dim3(grid), dim3(256), ib.data(), idt, stride, n, size, ignore, skipIgnore, CHECK, f2.data());
        bool kept = f2[0] == ((3ull << 32) | 5ull) && f2[1] == 99;
        std::printf("%s index_check keeps an earlier record %s n%d\n", kept ? "ok  " : "FAIL", emu_dtname(idt), n);
        if (!kept) emu_failures++;
    }
}

// index_select along dim d of x (a view of shape [a, b, c] that is transposed in dims 0 and 2) and
// index_add of a source of the selected shape back into zeros; idx with some bad entries.
static void run_select_add(int dt, int d, int idt, int stride, const std::vector<long long>& idx, unsigned seed, bool small) {
    ivec base{4, 5, 6};                               // buffer layout
    EmuView x = emu_permuted(base, {2, 1, 0}, 2);     // shape [6, 5, 4]
    size_t bufN = 4 * 5 * 6 + 2;
    EmuBuf xb = emu_rand_buf(dt, bufN, seed, -3, 3);
    int n = (int)idx.size();
    long long size = x.shape[d];
    EmuBuf ib(idt, (size_t)n * stride);
    for (int j = 0; j < n; j++) ib.seti((size_t)j * stride, idx[j]);
    ivec os = x.shape;
    os[d] = n;
    ivec ost = emu_contig(os), xs = x.st, coord(3, 0);
    int xDim = xs[d];
    xs[d] = 0;
    coord[d] = 1;
    Geom g = emu_geom(os, {xs, coord, ost});
    long long on = emu_numel(os);
    EmuBuf out(dt, on);
    std::vector<double> want(on);
    for (long long i = 0; i < on; i++) {
        long long r = i;
        int ci[3];
        for (int k = 2; k >= 0; k--) { ci[k] = (int)(r % os[k]); r /= os[k]; }
        long long kk = idx[ci[d]];
        if (kk < 0 || kk >= size) { want[i] = 0; continue; }
        ci[d] = (int)kk;
        want[i] = xb.get(x.offset + (long long)ci[0] * x.st[0] + (long long)ci[1] * x.st[1] + (long long)ci[2] * x.st[2]);
    }
    unsigned grid = small ? 1 : emu_grid_for(on);
    const void* xp = xb.bytes.data() + (size_t)x.offset * EmuBuf::size(dt);
    LAUNCH(index_select, dim3(grid), dim3(256), out.data(), xp, EmuBuf::size(dt), ib.data(), idt, stride, xDim, size, g);
    char tag[160];
    std::snprintf(tag, sizeof tag, "%s x [6,5,4] transposed dim%d, %d %s indices stride %d%s", emu_dtname(dt), d, n, emu_dtname(idt), stride,
                  small ? " grid 1" : "");
    emu_check((std::string("index_select ") + tag).c_str(), out.floats(), want, 0);
    // index_add: src = out (contiguous [os]), acc [x.shape] F32 zeroed
    ivec as = emu_contig(x.shape);
    int accDim = as[d];
    ivec asz = as;
    asz[d] = 0;
    Geom ga = emu_geom(os, {ost, coord, asz});
    vec<float> acc(emu_numel(x.shape), 0.0f);
    std::vector<double> wa(acc.size(), 0.0);
    for (long long i = 0; i < on; i++) {
        long long r = i;
        int ci[3];
        for (int k = 2; k >= 0; k--) { ci[k] = (int)(r % os[k]); r /= os[k]; }
        long long kk = idx[ci[d]];
        if (kk < 0 || kk >= size) continue;
        ci[d] = (int)kk;
        wa[(long long)ci[0] * as[0] + (long long)ci[1] * as[1] + ci[2]] += out.get(i);
    }
    LAUNCH(index_add, dim3(grid), dim3(256), acc.data(), out.data(), dt, ib.data(), idt, stride, accDim, size, ga);
    emu_check((std::string("index_add ") + tag).c_str(), acc, wa, 1e-6);
}

int main() {
    for (int idt : {DT_I32, DT_I64}) {
        check_faults(idt, 1, {0, 3, 9, 2}, 10, -100, 0, 1);
        check_faults(idt, 2, {0, 3, 10, 2, -1, 12}, 10, -100, 0, 1);
        check_faults(idt, 1, {0, -100, 3, -100}, 4, -100, 1, 1);            // ignored, nothing recorded
        check_faults(idt, 1, {0, -100, 3, -100}, 4, -100, 0, 1);            // not ignored: -100 is bad
        std::vector<long long> many(700);
        for (int j = 0; j < 700; j++) many[j] = j % 50;
        many[333] = 50; many[650] = -2;
        check_faults(idt, 3, many, 50, -100, 1, 1);
        many[290] = 77;  // thread 34 meets position 290 on its second turn; thread 2's 258 is lower and must win over both
        many[258] = 51;
        check_faults(idt, 1, many, 50, -100, 1, 1);
    }
    for (int dt : {DT_F32, DT_BF16, DT_F16, DT_I64, DT_BOOL})  // elements of 4, 2, 2, 8 and 1 bytes
        for (int d = 0; d < 3; d++) {
            run_select_add(dt, d, d == 1 ? DT_I64 : DT_I32, d == 2 ? 2 : 1, {1, 0, 3, 3, 7, -1, 2}, 10 + d, false);
            run_select_add(dt, d, DT_I64, 1, {3, 3, 3, 0, 100}, 20 + d, true);
        }
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
