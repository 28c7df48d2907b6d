package dev.clipvil.cli;

import com.google.gson.Gson;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.data.GridIndex;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.train.TrainProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil extract-grid}: CLIP-ViL grid features (a ResNet tower's layer4 map, a ViT's patch
 * tokens after ln_post; [C, h, w] per image) of every image of a folder, resized to exactly H x W.
 * Images are taken in name order, K to a shard ({@code grid-00000.safetensors}, ...; keyed by image
 * file name); index.json maps each image to its shard and is rewritten atomically after every shard.
 * Rerun with the same options after an interruption, it keeps the shards the index lists and computes
 * only the rest.
 */
@Command(name = "extract-grid", mixinStandardHelpOptions = true,
        description = {"Extract CLIP-ViL grid features of a folder of images into sharded safetensors with an index.json.",
                "Resumable: rerun with the same options and finished shards are kept.",
                "Runs on --device in --precision (bf16: BF16 autocast, the features still come out F32 before --dtype)."})
final class ExtractGridCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "CLIP model: HF folder, OpenAI .safetensors/.pt, or a folder holding one.")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "Folder of images (its image files, sorted by name).")
    Path images;

    @Option(names = "--size", required = true, paramLabel = "HxW", description = "Resize every image to exactly this (e.g. 448x448, 384x640).")
    String size;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR", description = "Output folder: shards and index.json.")
    Path out;

    @Option(names = "--shard-size", defaultValue = "256", paramLabel = "K", description = "Images per shard (default: ${DEFAULT-VALUE}).")
    int shardSize;

    @Option(names = "--batch-size", defaultValue = "8", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|bf16|f16", converter = ConvertCommand.FloatDTypeConverter.class,
            description = "Stored dtype of the features (default: ${DEFAULT-VALUE}).")
    DType dtype;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws IOException {
        compute.check();
        int[] hw = parseSize(size);
        if (shardSize < 1) throw new IllegalArgumentException("--shard-size must be at least 1, got " + shardSize);
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        if (!Files.isDirectory(images)) throw new IllegalArgumentException("--images " + images + " is not a folder");
        List<Path> files = ImageFiles.expand(List.of(images));
        Files.createDirectories(out);
        GridIndex index = GridIndex.read(out);
        String dtypeName = dtype.name().toLowerCase(Locale.ROOT);
        if (index == null) {
            index = new GridIndex();
            index.size = hw;
            index.shardSize = shardSize;
            index.dtype = dtypeName;
            index.model = model.toString();
        } else if (!Arrays.equals(index.size, hw) || index.shardSize != shardSize || !dtypeName.equals(index.dtype)) {
            throw new IllegalArgumentException(out.resolve(GridIndex.FILE) + " was written with --size " + index.size[0] + "x" + index.size[1] + " --shard-size "
                    + index.shardSize + " --dtype " + index.dtype + "; resume with the same options or use another --out");
        }
        PrintWriter err = spec.commandLine().getErr(), o = spec.commandLine().getOut();
        int shards = (files.size() + shardSize - 1) / shardSize, kept = 0, written = 0, failedNow = 0;
        Compute c = compute.resolve("extract-grid", err, false, null);
        // one autocast region for every batch: under bf16 each weight is lowered once (Autocast's cast cache), not once a batch
        try (Compute.Scope switches = c.open(); Clip clip = ClipLoader.load(model); GradMode.Guard g = GradMode.noGrad(); Autocast.Guard region = c.autocast();
             TrainProgress bar = new TrainProgress("extract-grid", files.size(), !noProgress, System.err)) {
            clip.to(c.device());
            for (int s = 0; s < shards; s++) {
                List<Path> chunk = files.subList(s * shardSize, Math.min(files.size(), (s + 1) * shardSize));
                List<String> names = chunk.stream().map(p -> p.getFileName().toString()).toList();
                String file = String.format(Locale.ROOT, "grid-%05d.safetensors", s);
                GridIndex.Shard done = index.shard(file);
                if (done != null && Files.isRegularFile(out.resolve(file))) {
                    if (!done.inputs.equals(names)) {
                        throw new IllegalArgumentException(out.resolve(GridIndex.FILE) + ": " + file + " was made from other images (" + done.inputs.size()
                                + " starting " + (done.inputs.isEmpty() ? "-" : done.inputs.get(0)) + ") than the folder now gives; the folder changed, use another --out");
                    }
                    kept++;
                    for (int i = 0; i < chunk.size(); i++) bar.step("kept " + file);
                    continue;
                }
                GridIndex.Shard shard = new GridIndex.Shard();
                shard.file = file;
                shard.inputs = new ArrayList<>(names);
                Map<String, Tensor> features = new LinkedHashMap<>();
                try {
                    for (int b = 0; b < chunk.size(); b += batchSize) {
                        try (MemoryScope scope = MemoryScope.open()) {
                            List<Tensor> pixels = new ArrayList<>();
                            List<String> ok = new ArrayList<>();
                            for (Path f : chunk.subList(b, Math.min(chunk.size(), b + batchSize))) {
                                try {
                                    pixels.add(ClipPreprocess.loadResized(f, hw[0], hw[1]));
                                    ok.add(f.getFileName().toString());
                                } catch (IOException | RuntimeException e) {
                                    err.println("clipvil: warning: skipping " + f + ": " + ErrorHandler.message(e));
                                    err.flush();
                                    if (!index.failed.contains(f.getFileName().toString())) index.failed.add(f.getFileName().toString());
                                    failedNow++;
                                }
                                bar.step(file);
                            }
                            if (pixels.isEmpty()) continue;
                            Tensor grid = ForwardCommand.grid(clip, c.onDevice(Indexing.stack(pixels.toArray(new Tensor[0]), 0)));
                            if (grid.dtype() != dtype) grid = Elementwise.cast(grid, dtype);      // the stored dtype, cast where the grid is
                            Tensor host = Compute.onHost(grid);                                   // the batch's grids read back at once
                            for (int i = 0; i < ok.size(); i++) features.put(ok.get(i), MemoryScope.detach(Views.contiguous(Views.select(host, 0, i))));
                        }
                    }
                    shard.images = new ArrayList<>(features.keySet());
                    SafeTensors.write(out.resolve(file), features, Map.of("images", new Gson().toJson(shard.images), "model", model.toString(),
                            "size", hw[0] + "x" + hw[1]));
                } finally {
                    features.values().forEach(Tensor::close);
                }
                index.shards.removeIf(x -> x.file.equals(file));
                index.shards.add(shard);
                for (String n : shard.images) index.images.put(n, file);
                index.write(out);
                written++;
            }
        }
        o.printf("%s: %d images in %d shards (%d written, %d kept from before)%s; index %s%n", out, index.images.size(), shards, written, kept,
                failedNow == 0 ? "" : ", " + failedNow + " images skipped (could not be decoded)", out.resolve(GridIndex.FILE));
        o.flush();
        return 0;
    }

    /** "HxW" (also "H,W" or "HXW") as {H, W}, both positive. */
    static int[] parseSize(String s) {
        String[] p = s.trim().split("[xX,]");
        try {
            if (p.length == 2) {
                int h = Integer.parseInt(p[0].trim()), w = Integer.parseInt(p[1].trim());
                if (h > 0 && w > 0) return new int[]{h, w};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--size must be HxW with positive integers (e.g. 448x448), got '" + s + "'");
    }
}
