package dev.clipvil.cli;

import com.google.gson.JsonArray;
import dev.clipvil.clip.ClipTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code clipvil tokenize TEXT...}: CLIP BPE token ids, one line (or JSON array) per text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the CLIP BPE token ids of each TEXT (with start 49406 and end 49407 tokens), one line per text.",
                "The vocabulary is --vocab, else $" + BpeVocabLocator.ENV + ", else ../shared/data/" + BpeVocabLocator.FILE
                        + " next to the working directory or to the jar's folder."})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--vocab", paramLabel = "FILE|DIR",
            description = "bpe_simple_vocab_16e6.txt.gz, or a Hugging Face folder with vocab.json and merges.txt.")
    Path vocab;

    @Option(names = "--json", description = "Print one JSON array holding an array of ids per text.")
    boolean json;

    @Option(names = "--context-length", defaultValue = "77", description = "Model context length (default: ${DEFAULT-VALUE}).")
    int contextLength;

    @Option(names = "--truncate", description = "Cut texts longer than the context length (the last token becomes the end token) instead of failing.")
    boolean truncate;

    @Option(names = "--pad", description = "Pad each row with zeros to the context length, as the model input is.")
    boolean pad;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "Texts to tokenize.")
    List<String> texts;

    @Override
    public Integer call() throws IOException {
        if (contextLength < 2) throw new IllegalArgumentException("--context-length must be at least 2, got " + contextLength);
        ClipTokenizer tokenizer = ClipTokenizer.load(BpeVocabLocator.locate(vocab));
        int[][] rows = tokenizer.tokenizeToArrays(texts, contextLength, truncate);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            JsonArray all = new JsonArray();
            for (int[] row : rows) {
                JsonArray a = new JsonArray();
                for (int i = 0; i < (pad ? contextLength : row.length); i++) a.add(i < row.length ? row[i] : 0);
                all.add(a);
            }
            out.println(all);
        } else {
            for (int[] row : rows) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < (pad ? contextLength : row.length); i++) {
                    if (i > 0) line.append(' ');
                    line.append(i < row.length ? row[i] : 0);
                }
                out.println(line);
            }
        }
        out.flush();
        return 0;
    }
}
