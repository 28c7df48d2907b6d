package dev.clipvil.cli;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.data.GridFeatures;
import dev.clipvil.data.SyntheticVqa;
import dev.clipvil.data.VqaAnswerVocab;
import dev.clipvil.data.VqaBatch;
import dev.clipvil.data.VqaBatches;
import dev.clipvil.data.VqaImages;
import dev.clipvil.data.VqaItem;
import dev.clipvil.data.VqaSplit;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fast training mode: VqaBatches over GridFeatures read from shards that {@code clipvil extract-grid} wrote. */
class VqaGridFeaturesTest {
    @TempDir
    Path tmp;

    /** A tiny random ViT CLIP (32 px, patch 8, width 16) saved as OpenAI-named safetensors with a config.json for its heads. */
    private Path tinyClip() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("clip"));
        ClipConfig config = ClipConfig.vit(8, 32, 1, 16, 8, 7, 20, 8, 2, 1).withHeads(2, 2);
        try (Clip clip = new Clip(config, new Init(9))) {
            SafeTensors.write(dir.resolve("model.safetensors"), clip.stateDict());
        }
        Files.writeString(dir.resolve("config.json"), "{\"vision_heads\": 2, \"transformer_heads\": 2}");
        return dir;
    }

    @Test
    void gridBatchesHoldTheExtractedFeaturesOfTheSameOrder() throws IOException {
        Path data = tmp.resolve("vqa");
        SyntheticVqa.write(data, 4, 0, 32, 4);
        Path model = tinyClip(), grid = tmp.resolve("grid");
        CliFixtures.Run r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", data.resolve("train2014").toString(),
                "--size", "32x32", "--shard-size", "2", "--out", grid.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());

        VqaSplit split = VqaSplit.load(data, "train2014", null, true);
        BertTokenizer tok = new BertTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "?"), true);
        VqaAnswerVocab vocab = VqaAnswerVocab.fromAnnotations(split.annotations(), 1);
        VqaImages images = new VqaImages(32, 1 << 20, false);
        try (GridFeatures features = GridFeatures.open(grid); Clip clip = ClipLoader.load(model); GradMode.Guard g = GradMode.noGrad()) {
            assertEquals(4, features.size());
            assertArrayEquals(new int[]{32, 32}, features.imageSize());
            VqaBatches byGrid = new VqaBatches(split.items(), tok, 20, vocab, 12, 8, null, features);
            VqaBatches byPixels = new VqaBatches(split.items(), tok, 20, vocab, 12, 8, images, null);
            assertEquals(byPixels.batches(2), byGrid.batches(2));
            for (int i = 0; i < byGrid.batches(2); i++) {
                try (VqaBatch gb = byGrid.batch(2, i); VqaBatch pb = byPixels.batch(2, i); MemoryScope s = MemoryScope.open()) {
                    assertNull(gb.pixels());
                    assertArrayEquals(pb.questionIds(), gb.questionIds());
                    assertArrayEquals(pb.imageOfQuestion().toLongArray(), gb.imageOfQuestion().toLongArray());
                    assertArrayEquals(pb.targets().toFloatArray(), gb.targets().toFloatArray());
                    assertEquals(DType.F32, gb.grid().dtype());
                    assertArrayEquals(new int[]{gb.images(), 16, 4, 4}, gb.grid().shape());
                    // the features of the batch's pixels through the same model
                    Tensor want = ForwardCommand.grid(clip, pb.pixels());
                    assertTrue(CliFixtures.relErr("grid", gb.grid(), want) < 1e-5);
                    // and the row of each question is its image's own features
                    long[] rows = gb.imageOfQuestion().toLongArray();
                    for (int q = 0; q < gb.size(); q += 5) {
                        VqaItem it = gb.items().get(q);
                        Tensor own = ForwardCommand.grid(clip, ClipPreprocess.loadResizedBatch(List.of(it.image()), 32, 32));
                        assertTrue(CliFixtures.relErr("row", Views.select(gb.grid(), 0, (int) rows[q]), Views.select(own, 0, 0)) < 1e-5);
                    }
                }
            }
            try (Tensor one = features.get(split.items().get(0).image())) {
                assertArrayEquals(new int[]{16, 4, 4}, one.shape());
            }
            assertEquals(split.items(), features.scan(split.items(), false));
            IOException e = assertThrows(IOException.class, () -> features.get("COCO_train2014_000000000099.jpg"));
            assertTrue(e.getMessage().contains("COCO_train2014_000000000099.jpg has no precomputed grid features in " + grid.resolve("index.json")),
                    e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> GridFeatures.open(tmp.resolve("none")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GridFeatures.open(data));
        assertTrue(e.getMessage().contains(data.resolve("index.json") + " does not exist"), e.getMessage());
    }

    @Test
    void halfPrecisionShardsComeBackAsF32AndUnextractedImagesAreSkippedOrNamed() throws IOException {
        Path data = tmp.resolve("vqa");
        SyntheticVqa.write(data, 3, 0, 32, 5);
        Path model = tinyClip(), grid = tmp.resolve("grid16");
        Path broken = data.resolve(SyntheticVqa.imageFile("train2014", 3));
        Files.write(broken, new byte[]{1, 2, 3});
        CliFixtures.Run r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", data.resolve("train2014").toString(),
                "--size", "32x32", "--dtype", "bf16", "--out", grid.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        VqaSplit split = VqaSplit.load(data, "train2014", null, true);
        try (GridFeatures features = GridFeatures.open(grid)) {
            IOException e = assertThrows(IOException.class, () -> features.scan(split.items(), false));
            assertTrue(e.getMessage().contains("image " + broken.getFileName() + " has no precomputed grid features in " + grid.resolve("index.json")
                    + " (extract-grid could not decode it)"), e.getMessage());
            List<VqaItem> kept = features.scan(split.items(), true);
            assertEquals(10, kept.size());
            assertEquals(5, features.skipped());
            assertEquals(List.of(broken.getFileName().toString()), features.skippedExamples());
        }
        Path img = data.resolve(SyntheticVqa.imageFile("train2014", 2));
        try (GridFeatures features = GridFeatures.open(grid); Tensor got = features.get(img);
             var shard = SafeTensors.open(grid.resolve("grid-00000.safetensors")); Tensor stored = shard.tensor(img.getFileName().toString())) {
            assertEquals(DType.BF16, stored.dtype());
            assertEquals(DType.F32, got.dtype());
            assertArrayEquals(stored.toFloatArray(), got.toFloatArray());
        }
    }
}
