package dev.clipvil.cli;

import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * How failures reach the user. A user error (an IOException such as a bad or missing file, an
 * IllegalArgumentException such as a bad argument or a ShapeException) prints one line,
 * {@code clipvil: error: <message>}, and exits 2; a usage error also prints the command's usage. A
 * stack trace is printed only with --debug or CLIPVIL_DEBUG=1. Anything else is a bug: it prints
 * {@code clipvil: internal error} with the stack trace and exits 1.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    static final int USER_ERROR = 2;
    static final int INTERNAL_ERROR = 1;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        boolean debug = debug(parsed);
        if (isUserError(ex)) {
            err.println("clipvil: error: " + message(ex));
            if (debug) ex.printStackTrace(err);
            err.flush();
            return USER_ERROR;
        }
        err.println("clipvil: internal error: " + ex);
        ex.printStackTrace(err);
        err.flush();
        return INTERNAL_ERROR;
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("clipvil: error: " + ex.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, err)) cmd.usage(err);
        err.flush();
        return USER_ERROR;
    }

    static boolean isUserError(Throwable ex) {
        return ex instanceof IOException || ex instanceof UncheckedIOException || ex instanceof IllegalArgumentException;
    }

    /** The one-line message of a user error. */
    static String message(Throwable ex) {
        if (ex instanceof UncheckedIOException && ex.getCause() != null) ex = ex.getCause();
        if (ex instanceof NoSuchFileException e) return "no such file: " + e.getFile();
        if (ex instanceof AccessDeniedException e) return "permission denied: " + e.getFile();
        String m = ex.getMessage();
        return m == null || m.isBlank() ? ex.toString() : m;
    }

    static boolean debug(ParseResult parsed) {
        if ("1".equals(System.getenv("CLIPVIL_DEBUG"))) return true;
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--debug")) return true;
        }
        return false;
    }
}
