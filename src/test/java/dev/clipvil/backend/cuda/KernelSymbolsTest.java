package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel the Java side launches (each {@code static final Kernel} constant in this package)
 * exists as an {@code extern "C" __global__} entry point of its family's .cu file, so a typo fails in
 * CI instead of on the GPU host.
 */
class KernelSymbolsTest {
    /** The families of the runtime layer (the fused ones, attention/layernorm/conv, come from cuda-kernels). */
    static final String[] SIMPLE_FAMILIES = {"cast", "elementwise", "index", "loss", "norm", "optim", "pool", "random", "reduce", "softmax"};

    private static final Pattern ENTRY = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(");

    static Path kernelsDir() {
        Path p = Path.of("kernels");
        if (!Files.isDirectory(p)) p = Path.of("..", "kernels");
        assertTrue(Files.isDirectory(p), "kernels/ not found from " + Path.of("").toAbsolutePath());
        return p;
    }

    /** The families, one per kernels/*.cu. */
    static List<String> families() {
        try (Stream<Path> s = Files.list(kernelsDir())) {
            List<String> out = new ArrayList<>();
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).sorted().forEach(n -> out.add(n.substring(0, n.length() - 3)));
            return out;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static Set<String> entryPoints(String family) throws IOException {
        String src = Files.readString(kernelsDir().resolve(family + ".cu"));
        Set<String> names = new TreeSet<>();
        Matcher m = ENTRY.matcher(src);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    /** Every Kernel constant of the package's classes (found from the compiled classes folder). */
    static List<Kernel> declaredKernels() throws Exception {
        Path classes = Path.of(Kernel.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/clipvil/backend/cuda");
        List<Kernel> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(classes)) {
            for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                String n = p.getFileName().toString();
                if (!n.endsWith(".class") || n.contains("$")) continue;
                Class<?> c = Class.forName("dev.clipvil.backend.cuda." + n.substring(0, n.length() - 6), false, Kernel.class.getClassLoader());
                for (Field f : c.getDeclaredFields()) {
                    if (f.getType() == Kernel.class && Modifier.isStatic(f.getModifiers())) {
                        f.setAccessible(true);
                        out.add((Kernel) f.get(null));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void everyLaunchedKernelExistsInItsSource() throws Exception {
        List<Kernel> ks = declaredKernels();
        assertTrue(ks.size() >= 30, "found only " + ks.size() + " kernels");
        List<String> families = families();
        Set<String> seen = new HashSet<>();
        for (Kernel k : ks) {
            assertTrue(families.contains(k.family()), k + ": no kernels/" + k.family() + ".cu");
            Set<String> names = entryPoints(k.family());
            assertTrue(names.contains(k.name()), k + " is not an extern \"C\" __global__ entry of kernels/" + k.family() + ".cu " + names);
            assertTrue(seen.add(k.toString()), k + " declared twice");
        }
    }

    @Test
    void theSimpleFamiliesAreAllPresent() {
        for (String f : SIMPLE_FAMILIES) {
            assertTrue(families().contains(f), f);
        }
    }

    @Test
    void entryPointNamesAreUniqueAcrossFamilies() throws IOException {
        Set<String> all = new HashSet<>();
        for (String f : families()) for (String n : entryPoints(f)) assertTrue(all.add(n), n + " appears in two families");
        assertFalse(all.isEmpty());
    }

    @Test
    void dtypeCodesMatchCommonCuh() throws IOException {
        String h = Files.readString(kernelsDir().resolve("common.cuh"));
        String[] names = {"F32", "BF16", "F16", "I32", "I64", "BOOL"};
        int[] codes = {DTypes.F32, DTypes.BF16, DTypes.F16, DTypes.I32, DTypes.I64, DTypes.BOOL};
        for (int i = 0; i < names.length; i++) {
            assertTrue(h.contains("#define DT_" + names[i] + " " + codes[i]), "DT_" + names[i] + " = " + codes[i]);
        }
        assertTrue(h.contains("#define MAX_RANK " + Geometry.MAX_RANK));
        assertTrue(h.contains("#define MAX_OPERANDS " + Geometry.MAX_OPERANDS));
        assertEquals(168, Geometry.BYTES);
    }
}
