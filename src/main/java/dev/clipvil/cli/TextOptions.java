package dev.clipvil.cli;

import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipTokenizer;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The text options of the CLIP commands (a picocli mixin): where the BPE vocabulary is (--vocab, else
 * the model's own HF folder when it has vocab.json and merges.txt, else {@link BpeVocabLocator}'s
 * places) and whether long texts are cut (--truncate).
 */
final class TextOptions {
    @Option(names = "--vocab", paramLabel = "FILE|DIR",
            description = "CLIP BPE vocabulary: bpe_simple_vocab_16e6.txt.gz or an HF folder with vocab.json and merges.txt"
                    + " (default: the model folder's, else $" + BpeVocabLocator.ENV + ", else ../shared/data/" + BpeVocabLocator.FILE + ").")
    Path vocab;

    @Option(names = "--truncate", description = "Cut texts longer than the context length (the last token becomes the end token) instead of failing.")
    boolean truncate;

    private ClipTokenizer tokenizer;

    /** The tokenizer for the model at {@code model} (loaded once). */
    ClipTokenizer tokenizer(Path model) throws IOException {
        if (tokenizer == null) {
            Path v = vocab;
            if (v == null && Files.isDirectory(model) && Files.isRegularFile(model.resolve("vocab.json")) && Files.isRegularFile(model.resolve("merges.txt"))) v = model;
            tokenizer = ClipTokenizer.load(BpeVocabLocator.locate(v));
        }
        return tokenizer;
    }

    /** {@code texts} as model input ids [N, context length] (I32). */
    Tensor tokenize(Path model, ClipConfig config, List<String> texts) throws IOException {
        return tokenizer(model).tokenize(texts, config.contextLength(), truncate);
    }
}
