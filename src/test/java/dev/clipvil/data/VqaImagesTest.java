package dev.clipvil.data;

import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VqaImages: CLIP pixels, the bounded cache, the parallel pre-scan, and missing / corrupt images (error or skipped and counted). */
class VqaImagesTest {
    @TempDir
    Path tmp;

    @Test
    void pixelsAreClipPreprocessedAndTheCacheStaysWithinItsBudget() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        VqaSplit train = VqaSplit.load(dir, "train2014", null, true);
        long perImage = 4L * 3 * 24 * 24;
        VqaImages images = new VqaImages(24, 2 * perImage + 10, false);
        assertEquals(train.items(), images.scan(train.items(), 3));
        assertEquals(2 * perImage, images.cachedBytes());
        for (long id : train.imageIds()) {
            Path f = dir.resolve(SyntheticVqa.imageFile("train2014", id));
            try (Tensor got = images.load(f); Tensor want = ClipPreprocess.loadResized(f, 24, 24)) {
                assertArrayEquals(new int[]{3, 24, 24}, got.shape());
                assertArrayEquals(want.toFloatArray(), got.toFloatArray());
            }
            assertTrue(images.cachedBytes() <= 2 * perImage);
        }
        VqaImages uncached = new VqaImages(24, 0, false);
        uncached.scan(train.items(), 1);
        assertEquals(0, uncached.cachedBytes());
        assertEquals(0, uncached.skipped());
        assertThrows(IllegalArgumentException.class, () -> new VqaImages(0, 0, false));
    }

    @Test
    void aMissingImageIsAnErrorNamingItOrIsSkippedAndCounted() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        VqaSplit train = VqaSplit.load(dir, "train2014", null, true);
        Path gone = dir.resolve(SyntheticVqa.imageFile("train2014", 3));
        Files.delete(gone);
        IOException e = assertThrows(IOException.class, () -> new VqaImages(32, 1 << 20, false).scan(train.items(), 2));
        assertTrue(e.getMessage().contains(gone.toString()), e.getMessage());
        e = assertThrows(IOException.class, () -> new VqaImages(32, 1 << 20, false).load(gone));
        assertTrue(e.getMessage().contains(gone + ": no such file"), e.getMessage());

        VqaImages skipping = new VqaImages(32, 1 << 20, true);
        List<VqaItem> kept = skipping.scan(train.items(), 2);
        assertEquals(25, kept.size());
        assertTrue(kept.stream().noneMatch(it -> it.imageId() == 3));
        assertEquals(train.items().stream().filter(it -> it.imageId() != 3).toList(), kept);
        assertEquals(5, skipping.skipped());
        assertEquals(1, skipping.skippedImages());
        assertEquals(1, skipping.skippedExamples().size());
        assertTrue(skipping.skippedExamples().get(0).contains(gone.toString()), skipping.skippedExamples().toString());
    }

    @Test
    void aCorruptImageIsAnErrorNamingItOrIsSkippedAndCounted() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        VqaSplit val = VqaSplit.load(dir, "val2014", null, true);
        Path bad = dir.resolve(SyntheticVqa.imageFile("val2014", 8));
        Files.write(bad, new byte[]{(byte) 0xFF, (byte) 0xD8, 1, 2, 3, 4, 5, 6, 7});
        IOException e = assertThrows(IOException.class, () -> new VqaImages(32, 0, false).scan(val.items(), 2));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());

        VqaImages skipping = new VqaImages(32, 0, true);
        List<VqaItem> kept = skipping.scan(val.items(), 2);
        assertEquals(5, kept.size());
        assertTrue(kept.stream().allMatch(it -> it.imageId() == 7));
        assertEquals(5, skipping.skipped());
        assertTrue(skipping.skippedExamples().get(0).startsWith(bad.toString()), skipping.skippedExamples().toString());
        // garbage without any image signature, too
        Files.write(bad, new byte[]{1, 2, 3});
        assertEquals(5, new VqaImages(32, 0, true).scan(val.items(), 1).size());
    }
}
