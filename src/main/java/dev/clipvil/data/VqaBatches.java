package dev.clipvil.data;

import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertEncoding;
import dev.clipvil.vil.BertTokenizer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The data order of VQA training and evaluation. Training epoch e permutes the <em>images</em> with a
 * generator seeded from (seed, e) only, and packs each image's questions (file order) together into
 * batches of at most {@code batchSize} questions: an image's questions go in the current batch when they
 * fit, else they start the next one (an image with more questions than a batch is split over
 * consecutive batches). So several questions share one backbone pass, and a run resumes exactly from
 * (epoch, batch index): {@link #batch} rebuilds any batch from scratch. Evaluation keeps file order,
 * {@code batchSize} questions per batch. Images come either as pixels ({@link VqaImages}) or as
 * precomputed grids ({@link GridFeatures}).
 */
public final class VqaBatches {
    /** The default text length: [CLS] question [SEP], padded or truncated to 20 tokens. */
    public static final int DEFAULT_MAX_LENGTH = 20;

    private final List<VqaItem> items;
    private final BertTokenizer tokenizer;
    private final int maxLength, batchSize;
    private final VqaAnswerVocab vocab;
    private final long seed;
    private final VqaImages images;
    private final GridFeatures grids;
    private final List<int[]> groups;
    private final List<int[]> evalOrder;
    private int plannedEpoch = Integer.MIN_VALUE;
    private List<int[]> planned;

    /**
     * Batches over {@code items} (usually {@link VqaImages#scan}'s survivors). Exactly one of {@code images}
     * (pixel mode) and {@code grids} (grid mode) is given; {@code vocab} may be null (no targets).
     */
    public VqaBatches(List<VqaItem> items, BertTokenizer tokenizer, int maxLength, VqaAnswerVocab vocab, int batchSize, long seed,
                      VqaImages images, GridFeatures grids) {
        if (items.isEmpty()) throw new IllegalArgumentException("no VQA questions to batch");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        if (maxLength < 2) throw new IllegalArgumentException("max text length must be at least 2 ([CLS] and [SEP]), got " + maxLength);
        if ((images == null) == (grids == null)) throw new IllegalArgumentException("give exactly one of images (pixel mode) and grids (grid mode)");
        this.items = List.copyOf(items);
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.vocab = vocab;
        this.batchSize = batchSize;
        this.seed = seed;
        this.images = images;
        this.grids = grids;
        Map<Long, List<Integer>> byImage = new LinkedHashMap<>();
        for (int i = 0; i < this.items.size(); i++) byImage.computeIfAbsent(this.items.get(i).imageId(), k -> new ArrayList<>()).add(i);
        List<int[]> g = new ArrayList<>(byImage.size());
        for (List<Integer> l : byImage.values()) g.add(l.stream().mapToInt(Integer::intValue).toArray());
        this.groups = Collections.unmodifiableList(g);
        List<int[]> ev = new ArrayList<>();
        for (int s = 0; s < this.items.size(); s += batchSize) {
            int[] b = new int[Math.min(batchSize, this.items.size() - s)];
            for (int j = 0; j < b.length; j++) b[j] = s + j;
            ev.add(b);
        }
        this.evalOrder = Collections.unmodifiableList(ev);
    }

    public List<VqaItem> items() { return items; }

    public int batchSize() { return batchSize; }

    /** The number of training batches of epoch {@code epoch} (it can differ slightly between epochs). */
    public int batches(int epoch) { return order(epoch).size(); }

    /** Training epoch {@code epoch}'s batches as indices into {@link #items}; a function of (seed, epoch) only. */
    public synchronized List<int[]> order(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        if (epoch != plannedEpoch) {
            planned = plan(epoch);
            plannedEpoch = epoch;
        }
        return planned;
    }

    private List<int[]> plan(int epoch) {
        int[] perm = new int[groups.size()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (epoch + 1L)));
        r = new SplittableRandom(r.nextLong());
        for (int i = perm.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        List<int[]> out = new ArrayList<>();
        int[] cur = new int[batchSize];
        int n = 0;
        for (int gi : perm) {
            int[] g = groups.get(gi);
            if (n > 0 && n + g.length > batchSize) {
                out.add(Arrays.copyOf(cur, n));
                n = 0;
            }
            for (int q : g) {
                cur[n++] = q;
                if (n == batchSize) {
                    out.add(Arrays.copyOf(cur, n));
                    n = 0;
                }
            }
        }
        if (n > 0) out.add(Arrays.copyOf(cur, n));
        return Collections.unmodifiableList(out);
    }

    /** Batch {@code index} of training epoch {@code epoch}, built from scratch (the caller closes it). */
    public VqaBatch batch(int epoch, int index) throws IOException {
        List<int[]> o = order(epoch);
        if (index < 0 || index >= o.size())
            throw new IndexOutOfBoundsException("batch " + index + " of epoch " + epoch + ": the epoch has " + o.size() + " batches");
        return build(epoch, index, o.get(index));
    }

    /** The number of evaluation batches (file order). */
    public int evalBatches() { return evalOrder.size(); }

    /** The evaluation batches as indices into {@link #items}: file order, {@code batchSize} at a time. */
    public List<int[]> evalOrder() { return evalOrder; }

    /** Evaluation batch {@code index} (epoch -1 in the record; the caller closes it). */
    public VqaBatch evalBatch(int index) throws IOException {
        if (index < 0 || index >= evalOrder.size())
            throw new IndexOutOfBoundsException("evaluation batch " + index + ": there are " + evalOrder.size());
        return build(-1, index, evalOrder.get(index));
    }

    private VqaBatch build(int epoch, int index, int[] rows) throws IOException {
        List<VqaItem> its = new ArrayList<>(rows.length);
        for (int r : rows) its.add(items.get(r));
        Map<Long, Integer> rowOf = new LinkedHashMap<>();
        List<VqaItem> firstOf = new ArrayList<>();
        int[] imageOf = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            VqaItem it = its.get(i);
            Integer row = rowOf.get(it.imageId());
            if (row == null) {
                row = rowOf.size();
                rowOf.put(it.imageId(), row);
                firstOf.add(it);
            }
            imageOf[i] = row;
        }
        long[] imageIds = rowOf.keySet().stream().mapToLong(Long::longValue).toArray();
        List<Tensor> made = new ArrayList<>();
        try {
            Tensor pixels = null, grid = null;
            if (images != null) made.add(pixels = pixels(firstOf));
            else made.add(grid = grids(firstOf));
            BertEncoding enc = tokenizer.encodeBatch(its.stream().map(VqaItem::question).toList(), maxLength);
            Tensor ids = enc.inputIdsTensor();
            made.add(ids);
            Tensor types = enc.tokenTypeIdsTensor();
            made.add(types);
            Tensor mask = enc.attentionMaskTensor();
            made.add(mask);
            Tensor imageOfQuestion = Tensor.ofInts(imageOf, rows.length);
            made.add(imageOfQuestion);
            Tensor targets = vocab == null ? null : targets(its);
            return new VqaBatch(epoch, index, ids, types, mask, pixels, grid, imageOfQuestion, targets, its, imageIds);
        } catch (IOException | RuntimeException e) {
            made.forEach(Tensor::close);
            throw e;
        }
    }

    private Tensor pixels(List<VqaItem> distinct) throws IOException {
        int res = images.resolution(), per = 3 * res * res;
        float[] data = new float[Math.multiplyExact(distinct.size(), per)];
        for (int m = 0; m < distinct.size(); m++) System.arraycopy(images.pixels(distinct.get(m).image()), 0, data, m * per, per);
        return Tensor.of(data, distinct.size(), 3, res, res);
    }

    private Tensor grids(List<VqaItem> distinct) throws IOException {
        float[] data = null;
        int[] shape = null;
        int per = 0;
        for (int m = 0; m < distinct.size(); m++) {
            try (Tensor g = grids.get(distinct.get(m).image())) {
                if (shape == null) {
                    shape = g.shape();
                    per = g.numel();
                    data = new float[Math.multiplyExact(distinct.size(), per)];
                } else if (!Arrays.equals(shape, g.shape())) {
                    throw new IOException(grids.indexFile() + ": grid features of " + distinct.get(m).image().getFileName() + " have shape "
                            + Arrays.toString(g.shape()) + " but " + distinct.get(0).image().getFileName() + " has " + Arrays.toString(shape));
                }
                System.arraycopy(g.toFloatArray(), 0, data, m * per, per);
            }
        }
        return Tensor.of(data, distinct.size(), shape[0], shape[1], shape[2]);
    }

    /** Soft scores min(1, humans giving the answer / 3) over the vocabulary; answers outside it contribute nothing. */
    private Tensor targets(List<VqaItem> its) {
        List<VqaAnswerVocab.SoftTarget> t = new ArrayList<>(its.size());
        for (VqaItem it : its) {
            t.add(vocab.target(new VqaAnnotation(it.questionId(), it.imageId(), "", it.answerType() == null ? "" : it.answerType(),
                    it.rawAnswers(), it.multipleChoiceAnswer())));
        }
        return vocab.targetTensor(t);
    }
}
