package dev.clipvil.cli;

import picocli.CommandLine;

/**
 * The {@code clipvil} command-line entry point ({@code java -jar target/clipvil.jar ...}). Before
 * anything can touch the Vector API it makes sure the JVM has the incubator module, restarting the
 * JVM with it when needed (see {@link VectorModuleLauncher}).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        VectorModuleLauncher.ensureVectorModule(Main.class, args);
        int code;
        try {
            code = commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("clipvil: error: out of memory: " + e.getMessage() + " (raise the heap with -Xmx)");
            code = ErrorHandler.USER_ERROR;
        }
        System.exit(code);
    }

    /** The configured command tree; tests execute it directly, with their own writers. */
    static CommandLine commandLine() {
        ErrorHandler errors = new ErrorHandler();
        return new CommandLine(new ClipvilCommand())
                .setExecutionExceptionHandler(errors)
                .setParameterExceptionHandler(errors);
    }
}
