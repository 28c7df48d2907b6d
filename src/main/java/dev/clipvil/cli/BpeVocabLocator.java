package dev.clipvil.cli;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the CLIP BPE vocabulary is taken from when a command needs one: {@code --vocab} (a merges file
 * or a Hugging Face folder); else the environment variable {@code CLIPVIL_BPE_VOCAB}; else
 * {@code ../shared/data/bpe_simple_vocab_16e6.txt.gz} relative to the working directory, then relative
 * to the folder holding the clipvil jar's folder (the repository root when the jar is
 * {@code target/clipvil.jar}). None found is an IOException listing where it looked.
 */
final class BpeVocabLocator {
    static final String ENV = "CLIPVIL_BPE_VOCAB";
    static final String FILE = "bpe_simple_vocab_16e6.txt.gz";

    private BpeVocabLocator() {}

    static Path locate(Path explicit) throws IOException {
        return locate(explicit, System.getenv(), Path.of("").toAbsolutePath(), jarDirectory());
    }

    static Path locate(Path explicit, Map<String, String> env, Path workingDir, Path jarDir) throws IOException {
        if (explicit != null) {
            if (!Files.exists(explicit)) throw new IOException("--vocab " + explicit + ": no such file or folder");
            return explicit;
        }
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            Path p = Path.of(fromEnv);
            if (!Files.exists(p)) throw new IOException(ENV + "=" + fromEnv + ": no such file or folder");
            return p;
        }
        List<Path> tried = new ArrayList<>();
        tried.add(workingDir.resolve("../shared/data").resolve(FILE).normalize());
        if (jarDir != null) tried.add(jarDir.resolve("../../shared/data").resolve(FILE).normalize());
        for (Path p : tried) if (Files.isRegularFile(p)) return p;
        throw new IOException("no CLIP BPE vocabulary: pass --vocab FILE|DIR (" + FILE + " or a Hugging Face folder with vocab.json and merges.txt) "
                + "or set " + ENV + "; looked for " + String.join(", ", tried.stream().map(Path::toString).toList()));
    }

    /** The folder of the jar (or classes folder) this class was loaded from, or null if unknown. */
    private static Path jarDirectory() {
        try {
            var source = BpeVocabLocator.class.getProtectionDomain().getCodeSource();
            if (source == null) return null;
            Path p = Path.of(source.getLocation().toURI());
            return Files.isDirectory(p) ? p : p.getParent();
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }
}
