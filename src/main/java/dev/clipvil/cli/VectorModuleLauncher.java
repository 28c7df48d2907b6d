package dev.clipvil.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Makes {@code java -jar clipvil.jar} work without the user typing {@code --add-modules}: a jar
 * manifest cannot add a module, so when the Vector API module is missing the launcher restarts the
 * same JVM with {@code --add-modules=jdk.incubator.vector}, the same JVM options (-Xmx, -D, ...), the
 * same class path, main class and arguments, and exits with the child's exit code. An environment
 * variable guards against restarting in a loop.
 *
 * <p>The child's stdin and stdout are inherited. Its stderr is passed through unchanged except for the
 * JVM's one startup line "WARNING: Using incubator modules: jdk.incubator.vector", which the user did
 * not ask for and cannot act on (kept with CLIPVIL_DEBUG=1).
 */
final class VectorModuleLauncher {
    static final String GUARD = "CLIPVIL_RELAUNCHED";
    static final String FLAG = "--add-modules=" + VectorModule.NAME;
    static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: " + VectorModule.NAME;

    private VectorModuleLauncher() {}

    /** Returns when the module is loaded; otherwise runs clipvil in a restarted JVM and exits. */
    static void ensureVectorModule(Class<?> mainClass, String[] args) {
        if (VectorModule.loaded()) return;
        if (!VectorModule.inRuntime()) {
            fail("the Java runtime at " + System.getProperty("java.home") + " has no " + VectorModule.NAME
                    + " module; clipvil needs a full JDK 17 or newer");
        }
        if ("1".equals(System.getenv(GUARD))) {
            fail("the JVM was restarted with " + FLAG + " but the module is still not loaded; start it yourself: java "
                    + FLAG + " -jar clipvil.jar ...");
        }
        List<String> cmd = command(javaExecutable(), ManagementFactory.getRuntimeMXBean().getInputArguments(),
                System.getProperty("java.class.path"), mainClass.getName(), args);
        System.exit(run(cmd));
    }

    /** The restart command line. */
    static List<String> command(String java, List<String> jvmArgs, String classPath, String mainClass, String[] args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add(FLAG);
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command().orElseGet(() -> {
            boolean windows = System.getProperty("os.name", "").toLowerCase().startsWith("windows");
            return Path.of(System.getProperty("java.home"), "bin", windows ? "java.exe" : "java").toString();
        });
    }

    private static int run(List<String> cmd) {
        boolean debug = "1".equals(System.getenv("CLIPVIL_DEBUG"));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(debug ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.PIPE);
        Map<String, String> env = pb.environment();
        env.put(GUARD, "1");
        // their contents are already among the JVM's input arguments; read twice they would repeat
        env.remove("JDK_JAVA_OPTIONS");
        env.remove("JAVA_TOOL_OPTIONS");
        Process p;
        try {
            p = pb.start();
        } catch (IOException | RuntimeException e) {
            fail("could not restart the JVM with " + FLAG + " (" + cmd.get(0) + "): " + e.getMessage()
                    + "; start it yourself: java " + FLAG + " -jar clipvil.jar ...");
            return 2;
        }
        Thread hook = new Thread(p::destroy, "clipvil-relaunch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        Thread pump = null;
        if (!debug) {
            pump = new Thread(() -> filterStderr(p.getErrorStream(), System.err), "clipvil-stderr");
            pump.setDaemon(true);
            pump.start();
        }
        while (true) {
            try {
                int code = p.waitFor();
                if (pump != null) pump.join(5000);
                System.err.flush();
                return code;
            } catch (InterruptedException e) {
                // keep waiting: the child decides when we are done
            }
        }
    }

    /**
     * Copies {@code in} to {@code out}, dropping the JVM's incubator warning from the leading lines
     * (the JVM's own messages come first; the first other line ends the filtering).
     */
    static void filterStderr(InputStream in, OutputStream out) {
        try (in) {
            while (true) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                int c;
                while ((c = in.read()) >= 0) {
                    line.write(c);
                    if (c == '\n') break;
                }
                String s = line.toString(StandardCharsets.UTF_8).stripTrailing();
                if (s.equals(INCUBATOR_WARNING)) break;
                out.write(line.toByteArray());
                out.flush();
                if (c < 0 || !(s.startsWith("WARNING:") || s.startsWith("NOTE:") || s.contains("VM warning"))) break;
            }
            in.transferTo(out);
            out.flush();
        } catch (IOException e) {
            // the child's stderr closed under us: nothing more to pass on
        }
    }

    private static void fail(String message) {
        System.err.println("clipvil: error: " + message);
        System.exit(2);
    }
}
