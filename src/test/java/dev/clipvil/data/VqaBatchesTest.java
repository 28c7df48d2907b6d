package dev.clipvil.data;

import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertEncoding;
import dev.clipvil.vil.BertTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VqaBatches: an order determined by (seed, epoch), resumable batches, image grouping, text, targets, evaluation order. */
class VqaBatchesTest {
    @TempDir
    Path tmp;

    private record Setup(VqaSplit split, BertTokenizer tok, VqaAnswerVocab vocab, VqaImages images) {
        VqaBatches batches(int batchSize, long seed) {
            return new VqaBatches(split.items(), tok, VqaBatches.DEFAULT_MAX_LENGTH, vocab, batchSize, seed, images, null);
        }
    }

    private Setup setup() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        VqaSplit train = VqaSplit.load(dir, "train2014", null, true);
        return new Setup(train, VqaTestData.tokenizer(train.items()), VqaAnswerVocab.fromAnnotations(train.annotations(), 1),
                new VqaImages(32, 64L << 20, false));
    }

    private static List<List<Integer>> asLists(List<int[]> order) {
        List<List<Integer>> out = new ArrayList<>();
        for (int[] b : order) out.add(Arrays.stream(b).boxed().toList());
        return out;
    }

    @Test
    void theOrderIsAFunctionOfSeedAndEpochAndCoversEveryQuestionOnce() throws IOException {
        Setup s = setup();
        for (int bs : new int[]{1, 3, 5, 7, 12, 64}) {
            VqaBatches b = s.batches(bs, 42);
            for (int e = 0; e < 3; e++) {
                List<Integer> seen = new ArrayList<>();
                for (int[] batch : b.order(e)) {
                    assertTrue(batch.length >= 1 && batch.length <= bs, Arrays.toString(batch));
                    for (int q : batch) seen.add(q);
                }
                assertEquals(30, seen.size(), "batch size " + bs);
                assertEquals(30, new HashSet<>(seen).size(), "batch size " + bs);
                assertEquals(b.order(e).size(), b.batches(e));
            }
        }
        VqaBatches a = s.batches(12, 42), again = s.batches(12, 42), other = s.batches(12, 43);
        assertEquals(asLists(a.order(3)), asLists(again.order(3)));
        assertEquals(asLists(a.order(0)), asLists(again.order(0)));
        Set<List<List<Integer>>> epochs = new HashSet<>();
        for (int e = 0; e < 5; e++) epochs.add(asLists(a.order(e)));
        assertTrue(epochs.size() >= 4, "epochs should be shuffled differently");
        assertFalse(asLists(a.order(0)).equals(asLists(other.order(0))) && asLists(a.order(1)).equals(asLists(other.order(1))));
        assertThrows(IllegalArgumentException.class, () -> a.order(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> a.batch(0, a.batches(0)));
    }

    @Test
    void questionsOfAnImageStayTogetherWhereTheyFit() throws IOException {
        Setup s = setup();
        VqaBatches b = s.batches(12, 7);
        for (int e = 0; e < 3; e++) {
            assertEquals(3, b.batches(e)); // 5 questions per image: two images per batch of 12
            for (int[] batch : b.order(e)) {
                assertEquals(10, batch.length);
                assertEquals(2, Arrays.stream(batch).mapToLong(q -> s.split().items().get(q).imageId()).distinct().count());
            }
        }
        // a batch smaller than an image's questions splits them over consecutive batches
        VqaBatches small = s.batches(3, 7);
        for (int[] batch : small.order(0))
            assertEquals(1, Arrays.stream(batch).mapToLong(q -> s.split().items().get(q).imageId()).distinct().count());
        assertEquals(12, small.batches(0));
    }

    @Test
    void aBatchBuiltFreshEqualsTheOneFromIterating() throws IOException {
        Setup s = setup();
        VqaBatches run = s.batches(7, 5);
        List<VqaBatch> iterated = new ArrayList<>();
        try {
            for (int e = 0; e < 2; e++) for (int i = 0; i < run.batches(e); i++) iterated.add(run.batch(e, i));
            VqaBatches resumed = s.batches(7, 5);
            // out of order, across epochs: each batch depends on (epoch, index) only
            for (int k = iterated.size() - 1; k >= 0; k -= 2) {
                VqaBatch want = iterated.get(k);
                try (VqaBatch got = resumed.batch(want.epoch(), want.index())) {
                    assertSame(want, got);
                }
            }
        } finally {
            iterated.forEach(VqaBatch::close);
        }
    }

    private static void assertSame(VqaBatch want, VqaBatch got) {
        assertArrayEquals(want.questionIds(), got.questionIds());
        assertArrayEquals(want.imageIds(), got.imageIds());
        for (Tensor[] p : new Tensor[][]{{want.inputIds(), got.inputIds()}, {want.tokenTypeIds(), got.tokenTypeIds()},
                {want.attentionMask(), got.attentionMask()}, {want.imageOfQuestion(), got.imageOfQuestion()},
                {want.pixels(), got.pixels()}, {want.targets(), got.targets()}}) {
            assertArrayEquals(p[0].shape(), p[1].shape());
            assertArrayEquals(p[0].toDoubleArray(), p[1].toDoubleArray());
        }
    }

    @Test
    void pixelsTextAndImageIndexOfEachQuestion() throws IOException {
        Setup s = setup();
        VqaBatches b = s.batches(12, 3);
        int questions = 0;
        for (int i = 0; i < b.batches(1); i++) {
            try (VqaBatch batch = b.batch(1, i)) {
                int n = batch.size(), m = batch.images();
                questions += n;
                assertArrayEquals(new int[]{m, 3, 32, 32}, batch.pixels().shape());
                assertNull(batch.grid());
                assertEquals(DType.I32, batch.imageOfQuestion().dtype());
                assertArrayEquals(new int[]{n}, batch.imageOfQuestion().shape());
                assertEquals(DType.I32, batch.inputIds().dtype());
                assertArrayEquals(new int[]{n, 20}, batch.inputIds().shape());
                assertArrayEquals(new int[]{n, s.vocab().size()}, batch.targets().shape());
                BertEncoding enc = s.tok().encodeBatch(batch.questions(), 20);
                assertArrayEquals(enc.inputIds(), toInts(batch.inputIds()));
                assertArrayEquals(enc.attentionMask(), toInts(batch.attentionMask()));
                assertArrayEquals(enc.tokenTypeIds(), toInts(batch.tokenTypeIds()));
                assertEquals(m, Arrays.stream(batch.imageIds()).distinct().count());
                long[] rows = batch.imageOfQuestion().toLongArray();
                for (int q = 0; q < n; q++) {
                    VqaItem it = batch.items().get(q);
                    assertEquals(it.imageId(), batch.imageIds()[(int) rows[q]]);
                    try (Tensor want = s.images().load(it.image()); Tensor row = Views.select(batch.pixels(), 0, (int) rows[q])) {
                        assertArrayEquals(want.toFloatArray(), row.toFloatArray());
                    }
                }
            }
        }
        assertEquals(30, questions);
    }

    private static int[] toInts(Tensor t) {
        return Arrays.stream(t.toLongArray()).mapToInt(x -> (int) x).toArray();
    }

    @Test
    void targetsAreSoftScoresOverTheVocabulary() throws IOException {
        Path dir = tmp.resolve("h");
        Files.createDirectories(dir);
        VqaTestData.writeSplit(dir, "s", List.of(VqaTestData.question(10, 1, "What colour?"), VqaTestData.question(11, 1, "How many?")),
                List.of(VqaTestData.annotation(10, 1, "two", "Red", "red", "two", "2", "Two", "two", "blue", "a cat", "cat", "dog"),
                        VqaTestData.annotation(11, 1, "yes", "yes", "yes", "yes", "yes", "no", "no", "no", "no", "no", "yes.")));
        SyntheticVqa.write(tmp.resolve("syn"), 1, 0, 32, 1);
        Files.copy(tmp.resolve("syn").resolve(SyntheticVqa.imageFile("train2014", 1)), dir.resolve("s").resolve(VqaSplit.imageName("s", 1)));
        VqaSplit split = VqaSplit.load(dir, "s", null, true);
        VqaAnswerVocab vocab = new VqaAnswerVocab(List.of("2", "red", "blue", "yes", "no"));
        VqaBatches b = new VqaBatches(split.items(), VqaTestData.tokenizer(split.items()), 8, vocab, 4, 0, new VqaImages(16, 0, false), null);
        assertEquals(1, b.batches(0));
        assertEquals(1, b.evalBatches());
        try (VqaBatch batch = b.evalBatch(0)) {
            assertEquals(-1, batch.epoch());
            assertArrayEquals(new long[]{10, 11}, batch.questionIds());
            assertEquals(List.of("What colour?", "How many?"), batch.questions());
            assertEquals(split.items().get(0).rawAnswers(), batch.answers().get(0));
            assertEquals(1, batch.images());
            assertArrayEquals(new long[]{0, 0}, batch.imageOfQuestion().toLongArray());
            float[] t = batch.targets().toFloatArray();
            // "2" x4 -> 1, "red" x2 -> 2/3, "blue" x1 -> 1/3, cats and dogs are outside the vocabulary
            assertArrayEquals(new float[]{1f, 2f / 3, 1f / 3, 0, 0}, Arrays.copyOfRange(t, 0, 5), 1e-6f);
            // "yes" x4 plus "yes." -> 1, "no" x5 -> 1
            assertArrayEquals(new float[]{0, 0, 0, 1, 1}, Arrays.copyOfRange(t, 5, 10), 1e-6f);
            assertArrayEquals(new int[]{2, 8}, batch.inputIds().shape());
        }
        VqaBatches noVocab = new VqaBatches(split.items(), VqaTestData.tokenizer(split.items()), 8, null, 4, 0, new VqaImages(16, 0, false), null);
        try (VqaBatch batch = noVocab.batch(0, 0)) {
            assertNull(batch.targets());
        }
    }

    @Test
    void evaluationKeepsFileOrder() throws IOException {
        Setup s = setup();
        VqaBatches b = s.batches(8, 1);
        assertEquals(4, b.evalBatches());
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < b.evalBatches(); i++) {
            try (VqaBatch batch = b.evalBatch(i)) {
                for (long q : batch.questionIds()) ids.add(q);
                assertEquals(batch.items().stream().map(VqaItem::imageId).distinct().count(), batch.images());
            }
        }
        assertEquals(s.split().items().stream().map(VqaItem::questionId).toList(), ids);
        assertThrows(IllegalArgumentException.class, () -> new VqaBatches(s.split().items(), s.tok(), 20, s.vocab(), 8, 1, null, null));
        // an image that disappears after loading (no pre-scan) fails the batch that needs it, naming the file
        Path gone = s.split().items().get(0).image();
        Files.delete(gone);
        VqaBatches fresh = new VqaBatches(s.split().items(), s.tok(), 20, s.vocab(), 8, 1, new VqaImages(32, 0, false), null);
        IOException e = assertThrows(IOException.class, () -> fresh.evalBatch(0));
        assertTrue(e.getMessage().contains(gone.toString()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new VqaBatches(List.of(), s.tok(), 20, s.vocab(), 8, 1, s.images(), null));
    }
}
