package dev.clipvil.cli;

import com.google.gson.Gson;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Indexing;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.train.TrainProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil embed}: L2-normalised CLIP embeddings of images (files or folders) and/or texts (a
 * file, one text a line), computed in batches, written as {@code image_embeds} [N, E] /
 * {@code text_embeds} [M, E] with the inputs in the same order in the metadata ("images", "texts":
 * JSON arrays). An image that cannot be decoded is reported on stderr and skipped.
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Compute L2-normalised CLIP embeddings of images and/or texts in batches.",
                "Writes image_embeds / text_embeds; the metadata lists the inputs (JSON arrays 'images', 'texts') row by row.",
                "Images that fail to decode are reported on stderr and skipped. Runs on --device in --precision; the embeddings are F32."})
final class EmbedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "CLIP model: HF folder, OpenAI .safetensors/.pt, or a folder holding one.")
    Path model;

    @Option(names = "--images", arity = "1..*", paramLabel = "DIR|FILE", description = "Image files and/or folders (their image files, sorted).")
    List<Path> images;

    @Option(names = "--texts", paramLabel = "FILE", description = "A UTF-8 text file, one text a line (blank lines are skipped).")
    Path texts;

    @Option(names = "--batch-size", defaultValue = "32", description = "Inputs per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "EMB.safetensors", description = "Output file (replaced atomically).")
    Path out;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    TextOptions text;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws IOException {
        compute.check();
        if (images == null && texts == null) throw new IllegalArgumentException("give --images and/or --texts");
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        List<Path> imageFiles = images == null ? List.of() : ImageFiles.expand(images);
        List<String> lines = new ArrayList<>();
        if (texts != null) for (String l : Files.readAllLines(texts, StandardCharsets.UTF_8)) if (!l.isBlank()) lines.add(l.strip());
        if (texts != null && lines.isEmpty()) throw new IllegalArgumentException(texts + ": no text in it");
        PrintWriter err = spec.commandLine().getErr(), o = spec.commandLine().getOut();
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        Gson gson = new Gson();
        int skipped = 0;
        List<String> embedded = new ArrayList<>();
        Compute c = compute.resolve("embed", err, false, null);
        try (Compute.Scope switches = c.open(); Clip clip = ClipLoader.load(model); MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad();
             TrainProgress bar = new TrainProgress("embed", imageFiles.size() + lines.size(), !noProgress, System.err)) {
            clip.to(c.device());
            int res = clip.config().imageResolution();
            // one autocast region for every batch: under bf16 each weight is lowered once (Autocast's cast cache), not once a batch
            try (Autocast.Guard region = c.autocast()) {
                if (!imageFiles.isEmpty()) {
                    List<Tensor> parts = new ArrayList<>();
                    for (int start = 0; start < imageFiles.size(); start += batchSize) {
                        try (MemoryScope perBatch = MemoryScope.open()) { // activations freed batch by batch; only the embeddings are kept
                            List<Tensor> pixels = new ArrayList<>();
                            for (Path f : imageFiles.subList(start, Math.min(imageFiles.size(), start + batchSize))) {
                                try {
                                    pixels.add(ClipPreprocess.load(f, res));
                                    embedded.add(f.toString());
                                } catch (IOException | RuntimeException e) {
                                    err.println("clipvil: warning: skipping " + f + ": " + ErrorHandler.message(e));
                                    err.flush();
                                    skipped++;
                                }
                                bar.step("images");
                            }
                            if (!pixels.isEmpty()) {
                                Tensor batch = c.onDevice(Indexing.stack(pixels.toArray(new Tensor[0]), 0));
                                parts.add(MemoryScope.keep(Compute.hostF32(Clip.l2Normalize(clip.encodeImage(batch)))));
                            }
                        }
                    }
                    if (parts.isEmpty()) throw new IllegalArgumentException("none of the " + imageFiles.size() + " images could be decoded");
                    outputs.put("image_embeds", parts.size() == 1 ? parts.get(0) : Indexing.cat(parts.toArray(new Tensor[0]), 0));
                    meta.put("images", gson.toJson(embedded));
                }
                if (!lines.isEmpty()) {
                    List<Tensor> parts = new ArrayList<>();
                    for (int start = 0; start < lines.size(); start += batchSize) {
                        List<String> batch = lines.subList(start, Math.min(lines.size(), start + batchSize));
                        try (MemoryScope perBatch = MemoryScope.open()) {
                            Tensor ids = ClipBatch.checkIds(texts.toString(), text.tokenize(model, clip.config(), batch), clip.config());
                            Tensor onDevice = c.onDevice(ids);
                            parts.add(MemoryScope.keep(Compute.hostF32(Clip.l2Normalize(clip.encodeText(onDevice)))));
                        }
                        for (int i = 0; i < batch.size(); i++) bar.step("texts");
                    }
                    outputs.put("text_embeds", parts.size() == 1 ? parts.get(0) : Indexing.cat(parts.toArray(new Tensor[0]), 0));
                    meta.put("texts", gson.toJson(lines));
                }
            }
            meta.put("model", model.toString());
            SafeTensors.write(out, outputs, meta);
        }
        o.printf("wrote %s: %d image embeddings%s, %d text embeddings%n", out, embedded.size(),
                skipped == 0 ? "" : " (" + skipped + " of " + imageFiles.size() + " images skipped: could not be decoded)", lines.size());
        o.flush();
        if (skipped > 0) {
            err.println("clipvil: " + skipped + " of " + imageFiles.size() + " images skipped");
            err.flush();
        }
        return 0;
    }
}
