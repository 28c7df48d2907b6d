package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.NormResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.Tensor;

import java.util.List;

/**
 * Layer norm over the last dim of [rows, C] ({@link Backend#layerNorm}, eps 1e-5, weight and bias) in F32
 * and BF16, its forward+backward, and a device copy of the same tensor ({@link Backend#copy}) as the
 * bandwidth it is judged against. Bytes: the least traffic, read x and write y (2·rows·C elements);
 * a copy moves the same. {@code of_copy} is the layer norm's bandwidth over the copy's.
 */
final class LayerNormCase implements BenchCase {
    @Override public String name() { return "layernorm"; }

    @Override
    public void run(Env env, List<JsonObject> out) {
        boolean full = env.scale() == Scale.FULL;
        int rows = full ? 256 * 197 : 64, c = full ? 768 : 48;
        DType[] dtypes = full ? new DType[] {DType.F32, DType.BF16} : new DType[] {DType.F32};
        for (DType dtype : dtypes) {
            String shape = rows + "x" + c;
            JsonObject copy = BenchCase.result("copy", shape, dtype.name());
            JsonObject fwd = BenchCase.result("layernorm", shape + "_fwd", dtype.name());
            JsonObject fwdbwd = BenchCase.result("layernorm", shape + "_fwdbwd", dtype.name());
            try {
                BenchCase.scoped(() -> measure(env, rows, c, dtype, copy, fwd, fwdbwd));
            } catch (RuntimeException | Error e) {
                for (JsonObject o : new JsonObject[] {copy, fwd, fwdbwd}) if (!o.has("status")) BenchCase.failed(o, e);
            }
            out.add(copy);
            out.add(fwd);
            out.add(fwdbwd);
        }
    }

    private static void measure(Env env, int rows, int c, DType dtype, JsonObject copy, JsonObject fwd, JsonObject fwdbwd) {
        Backend be = env.backend();
        Tensor x = env.randn(dtype, 11, rows, c), y = be.empty(dtype, rows, c), gy = env.randn(dtype, 12, rows, c);
        double bytes = 2.0 * rows * c * dtype.byteSize();
        DeviceClock.Timing tc = env.clock().time(() -> be.copy(x, y), 3, 15, 20, env.caseDeadline(10));
        BenchCase.timing(copy, tc, 0, bytes);

        // Weight and bias in the data's dtype (as PyTorch requires); F32 when the backend wants that.
        Tensor[] wb = null;
        RuntimeException firstError = null;
        for (DType wd : dtype == DType.F32 ? new DType[] {DType.F32} : new DType[] {dtype, DType.F32}) {
            Tensor w = env.randn(wd, 13, c), b = env.randn(wd, 14, c);
            try {
                be.layerNorm(x, w, b, 1e-5);
                wb = new Tensor[] {w, b};
                if (wd != dtype) fwd.addProperty("note", "weight and bias in " + wd + " (the backend refused " + dtype + ": " + firstError.getMessage() + ")");
                break;
            } catch (DTypeException e) {
                firstError = e;
            }
        }
        if (wb == null) throw firstError;
        Tensor w = wb[0], b = wb[1];
        DeviceClock.Timing tf = env.clock().time(() -> be.layerNorm(x, w, b, 1e-5), 3, 15, 20, env.caseDeadline(10));
        BenchCase.timing(fwd, tf, 0, bytes);
        fwd.addProperty("of_copy", BenchCase.round(tc.medianUs() / tf.medianUs()));
        DeviceClock.Timing tb = env.clock().time(() -> {
            NormResult r = be.layerNorm(x, w, b, 1e-5);
            be.layerNormBackward(gy, x, w, r.mean(), r.rstd());
        }, 3, 15, 20, env.caseDeadline(10));
        BenchCase.timing(fwdbwd, tb, 0, 0);
    }
}
