package dev.clipvil.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What ptxas reported for each kernel of a family and architecture (registers per thread, static
 * shared memory, stack frame and spill bytes), as native/build-kernels.sh writes it beside the fatbin
 * ({@code <family>.resources}, under the fatbin's source stamp), and the launch limits that follow from
 * it. A launch whose block needs more registers than an SM has, or more shared memory than a block may
 * take, fails on the GPU with "too many resources requested for launch"; the dry-run device checks every
 * launch against these tables ({@link #launchProblem}) so that such a launch fails in CI instead.
 */
final class KernelResources {
    /** One kernel on one architecture. */
    record Usage(String arch, String kernel, int registers, int staticShared, int stack, int spillStores, int spillLoads) {}

    /** Registers per SM (and per block) on sm_80 and sm_90. */
    static final int REGISTERS_PER_SM = 65536;
    /** Registers are allocated per warp in units of this many. */
    static final int WARP_ALLOCATION_UNIT = 256;

    private static final Map<String, List<Usage>> CACHE = new ConcurrentHashMap<>();
    private static final List<Usage> NONE = List.of();

    private KernelResources() {}

    /** The most shared memory (static plus dynamic) one block may use on {@code arch}, opt-in included. */
    static int maxSharedPerBlock(String arch) {
        return arch.startsWith("sm_80") || arch.startsWith("sm_86") || arch.startsWith("sm_87") ? 163 * 1024 : 227 * 1024;
    }

    /** Registers a block of {@code threads} takes when each thread uses {@code registers}. */
    static int blockRegisters(int registers, int threads) {
        int warps = (threads + 31) / 32;
        int perWarp = (registers * 32 + WARP_ALLOCATION_UNIT - 1) / WARP_ALLOCATION_UNIT * WARP_ALLOCATION_UNIT;
        return warps * perWarp;
    }

    /** Parses a resources file; {@code stamp} receives its "# stamp" line's value (index 0). */
    static List<Usage> parse(String text, String[] stamp) {
        List<Usage> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# stamp ")) {
                stamp[0] = line.substring(8).trim();
                continue;
            }
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split("\t");
            if (f.length != 7) throw new CudaException("kernel resources: bad line '" + line + "' (want 7 tab-separated fields)");
            out.add(new Usage(f[0], f[1], Integer.parseInt(f[2].trim()), Integer.parseInt(f[3].trim()), Integer.parseInt(f[4].trim()),
                    Integer.parseInt(f[5].trim()), Integer.parseInt(f[6].trim())));
        }
        return out;
    }

    /**
     * The table of {@code family} when the jar (or class path) has one built from the sources the
     * launches are checked against; empty otherwise (a build with -Dclipvil.nvcc.skip=true, or sources
     * overridden by CLIPVIL_KERNELS).
     */
    static List<Usage> of(String family) {
        return CACHE.computeIfAbsent(family, f -> {
            String text = KernelSources.resourcesText(f);
            if (text == null) return NONE;
            KernelSources sources = KernelSources.fromEnvironment();
            if (sources.overridden()) return NONE;
            String[] stamp = new String[1];
            List<Usage> all = parse(text, stamp);
            return stamp[0] != null && stamp[0].equals(sources.source(f).stamp()) ? List.copyOf(all) : NONE;
        });
    }

    /**
     * Why a launch of {@code k} with {@code threads} per block and {@code dynamicShared} bytes of dynamic
     * shared memory would fail on a GPU, or null: dynamic shared memory above what the kernel opts in to
     * ({@link Kernel#maxDynamicShared}), and per architecture of {@code table}: registers x threads beyond
     * an SM's, static plus dynamic shared memory (and static plus the opt-in) beyond a block's.
     */
    static String launchProblem(Kernel k, List<Usage> table, int threads, int dynamicShared) {
        if (dynamicShared > k.maxDynamicShared()) {
            return dynamicShared + " bytes of dynamic shared memory, more than the " + k.maxDynamicShared()
                    + " the kernel opts in to (declare it with Kernel.withDynamicShared)";
        }
        for (Usage u : table) {
            if (!u.kernel().equals(k.name())) continue;
            int regs = blockRegisters(u.registers(), threads);
            if (regs > REGISTERS_PER_SM) {
                return "a block of " + threads + " threads needs " + regs + " registers on " + u.arch() + " (" + u.registers()
                        + " per thread), more than the " + REGISTERS_PER_SM + " of an SM";
            }
            int max = maxSharedPerBlock(u.arch());
            if (u.staticShared() + dynamicShared > max) {
                return u.staticShared() + " bytes of static and " + dynamicShared + " of dynamic shared memory on " + u.arch()
                        + ", more than the " + max + " a block may use";
            }
            if (k.maxDynamicShared() > Kernel.DEFAULT_DYNAMIC_SHARED && u.staticShared() + k.maxDynamicShared() > max) {
                return "its opt-in of " + k.maxDynamicShared() + " bytes of dynamic shared memory plus " + u.staticShared()
                        + " static exceeds the " + max + " of a block on " + u.arch() + " (cuFuncSetAttribute would fail)";
            }
        }
        return null;
    }
}
