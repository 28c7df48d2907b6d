package dev.clipvil.backend.cuda;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter kinds of an {@code extern "C" __global__} entry point, read from its source, so that
 * the first launch of each kernel can check the packed {@link KernelArgs} against it and fail with a
 * clear message instead of running on misread arguments. Kinds: p pointer, i int, l 64-bit integer,
 * f float, d double, g the Geom struct, t the TensorList struct (kernels/optim.cu; passed {@code const
 * __grid_constant__}).
 */
final class KernelSignature {
    private KernelSignature() {}

    /** The kinds of {@code name}'s parameters in {@code source}, or null when there is no such entry point. */
    static String of(String source, String name) {
        Matcher m = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+" + Pattern.quote(name) + "\\s*\\(([^)]*)\\)").matcher(source);
        if (!m.find()) return null;
        String params = m.group(1).trim();
        if (params.isEmpty() || params.equals("void")) return "";
        StringBuilder sb = new StringBuilder();
        for (String p : params.split(",")) sb.append(kind(p.trim(), name));
        return sb.toString();
    }

    static char kind(String param, String kernel) {
        String p = param.replaceAll("\\s+", " ");
        if (p.contains("*")) return 'p';
        String type = p.substring(0, p.lastIndexOf(' ')).replace("const ", "").replace("__grid_constant__ ", "").trim();
        switch (type) {
            case "int": case "unsigned int": return 'i';
            case "long long": case "unsigned long long": return 'l';
            case "float": return 'f';
            case "double": return 'd';
            case "Geom": return 'g';
            case "TensorList": return 't';
            default: throw new IllegalArgumentException("kernel " + kernel + ": parameter '" + param + "' has a type the Java side cannot pack");
        }
    }
}
