package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel modules of one device, one per family ({@code kernels/<family>.cu}), loaded on first use
 * and cached. The nvcc-built fatbin from the jar is loaded with {@code cuModuleLoadData} when it fits
 * the device (SASS for sm_8x and sm_90a, PTX for 9.0 and newer); otherwise, or when
 * {@code CLIPVIL_KERNELS} names a source folder, NVRTC compiles the family's source for the device.
 */
public final class CudaModules {
    private final CudaContext ctx;
    private final KernelSources sources = KernelSources.fromEnvironment();
    private final Map<String, CUmod_st> modules = new HashMap<>();
    private final Map<String, String> origins = new HashMap<>();

    CudaModules(CudaContext ctx) { this.ctx = ctx; }

    /** The function {@code name} of {@code family}, loading the family's module if needed. */
    synchronized CUfunc_st function(String family, String name) {
        CUmod_st mod = module(family);
        CUfunc_st f = new CUfunc_st();
        int err = cudart.cuModuleGetFunction(f, mod, name);
        if (err != 0) {
            throw new CudaException("cuModuleGetFunction(" + family + "/" + name + ") failed: " + CudaCheck.drvMessage(err)
                    + " (module from " + origins.get(family) + ")");
        }
        return f;
    }

    /**
     * Compiles {@code family} from the given sources with NVRTC for this device and loads it (not
     * cached): how the GPU tests check that every shipped source compiles at run time.
     */
    synchronized CUmod_st compileAndLoad(KernelSources from, String family) {
        ctx.makeCurrent();
        CUmod_st m = load(compile(from.source(family)), "NVRTC cubin " + family);
        if (m == null) throw new CudaException("cuModuleLoadData(NVRTC cubin " + family + ") failed: no binary for " + ctx);
        return m;
    }

    /** Where each loaded family came from (fatbin or NVRTC, and the source), for reports. */
    public synchronized Map<String, String> origins() { return Map.copyOf(origins); }

    /** Whether the nvcc fatbin (sm_80, sm_90a SASS; compute_90 PTX) can run on a device of this capability. */
    static boolean fatbinFits(int major, int minor) {
        return major == 8 || major >= 9;
    }

    private CUmod_st module(String family) {
        CUmod_st m = modules.get(family);
        if (m != null) return m;
        ctx.makeCurrent();
        byte[] fatbin = sources.overridden() ? null : KernelSources.fatbin(family);
        String origin, stale = null;
        if (fatbin != null && fatbinFits(ctx.ccMajor(), ctx.ccMinor()) && (stale = sources.staleFatbin(family)) == null) {
            m = load(fatbin, "fatbin " + family);
            origin = m != null ? "fatbin jar:" + KernelSources.RESOURCE_DIR + family + ".fatbin" : null;
        } else {
            origin = null;
        }
        if (stale != null) System.err.println("clipvil: " + stale + "; compiling " + family + ".cu with NVRTC");
        if (m == null) {
            KernelSources.Source src = sources.source(family);
            byte[] cubin = compile(src);
            m = load(cubin, "NVRTC cubin " + family);
            if (m == null) throw new CudaException("cuModuleLoadData(NVRTC cubin " + family + ") failed: no binary for " + ctx);
            origin = "NVRTC " + arch() + " from " + src.origin() + (stale != null ? " (" + stale + ")" : "");
        }
        modules.put(family, m);
        origins.put(family, origin);
        return m;
    }

    /** Loads an image; null when it holds no code for this GPU (the caller then compiles the source). */
    private CUmod_st load(byte[] image, String what) {
        CUmod_st m = new CUmod_st();
        try (BytePointer p = new BytePointer(image.length + 1L)) {
            p.put(image).put(image.length, (byte) 0);
            int err = cudart.cuModuleLoadData(m, p);
            if (err == cudart.CUDA_ERROR_NO_BINARY_FOR_GPU || err == cudart.CUDA_ERROR_INVALID_PTX
                    || err == cudart.CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
                return null;
            }
            CudaCheck.drv(err, "cuModuleLoadData(" + what + ")");
        }
        return m;
    }

    private String arch() {
        return "sm_" + ctx.ccMajor() + ctx.ccMinor() + (ctx.ccMajor() == 9 && ctx.ccMinor() == 0 ? "a" : "");
    }

    /** NVRTC options for a source: the device's architecture, C++17, -O3 equivalents, and the file's own flags. */
    static List<String> options(String arch, String extraFlags) {
        List<String> o = new ArrayList<>(List.of("--gpu-architecture=" + arch, "-std=c++17"));
        for (String f : extraFlags.split("\\s+")) if (!f.isBlank()) o.add(f);
        return o;
    }

    private byte[] compile(KernelSources.Source src) {
        if (!CudaLibraries.isLoaded("nvrtc")) {
            throw new CudaException("kernel family " + src.family() + " needs NVRTC (no fitting fatbin for " + ctx + "), but NVRTC is not available: "
                    + CudaLibraries.load().get(2).detail());
        }
        List<String> opts = options(arch(), src.extraFlags());
        List<String> names = new ArrayList<>(src.headers().keySet());
        List<String> texts = new ArrayList<>(src.headers().values());
        _nvrtcProgram prog = new _nvrtcProgram();
        PointerPointer<BytePointer> hText = names.isEmpty() ? null : new PointerPointer<>(texts.toArray(new String[0]));
        PointerPointer<BytePointer> hName = names.isEmpty() ? null : new PointerPointer<>(names.toArray(new String[0]));
        CudaCheck.nvrtcCall(nvrtc.nvrtcCreateProgram(prog, new BytePointer(src.text()), new BytePointer(src.family() + ".cu"),
                names.size(), hText, hName), "nvrtcCreateProgram(" + src.family() + ")");
        try {
            int res = nvrtc.nvrtcCompileProgram(prog, opts.size(), new PointerPointer<>(opts.toArray(new String[0])));
            if (res != 0) {
                throw new CudaException("NVRTC could not compile " + src.origin() + " for " + arch() + " (" + String.join(" ", opts) + "): "
                        + nvrtc.nvrtcGetErrorString(res).getString() + "\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                CudaCheck.nvrtcCall(nvrtc.nvrtcGetCUBINSize(prog, size), "nvrtcGetCUBINSize(" + src.family() + ")");
                byte[] cubin = new byte[(int) size.get()];
                CudaCheck.nvrtcCall(nvrtc.nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN(" + src.family() + ")");
                return cubin;
            }
        } finally {
            nvrtc.nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtc.nvrtcGetProgramLogSize(prog, size) != 0 || size.get() <= 1) return "(no log)";
            byte[] b = new byte[(int) size.get()];
            if (nvrtc.nvrtcGetProgramLog(prog, b) != 0) return "(no log)";
            return new String(b, 0, b.length - 1, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

}
