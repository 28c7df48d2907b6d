package dev.clipvil.clip;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates reference data in {@code ../shared} (the system property {@code clipvil.shared}, set by
 * surefire). A test needing an absent file is skipped with a printed message, never silently passed.
 */
final class SharedData {
    private SharedData() {}

    static Path root() {
        return Path.of(System.getProperty("clipvil.shared", "../shared"));
    }

    /** {@code relative} under the shared folder, or the calling test aborted (skipped) with a message. */
    static Path require(String relative, String test) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String reason = "no " + relative + " at " + p.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED " + test + ": " + reason);
            Assumptions.abort(reason);
        }
        return p;
    }

    static Path bpeVocab(String test) {
        return require("data/bpe_simple_vocab_16e6.txt.gz", test);
    }
}
