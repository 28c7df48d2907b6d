package dev.clipvil.data;

import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * VQA images as normalised CLIP pixel tensors [3, R, R]: each file resized to exactly R x R (Pillow
 * bicubic, no crop, as {@code clipvil extract-grid} does, so pixel and grid modes see the same pixels;
 * see {@link ClipPreprocess#loadResized}). Decoded images are kept in a least-recently-used cache bounded
 * by a byte budget (0 disables it). {@link #scan} decodes every item's image once, in parallel, before
 * training: a missing or corrupt image is then an error naming the file, or, in skip-missing mode, its
 * items are dropped and counted, so the epoch length is known up front.
 */
public final class VqaImages {
    /** How many skipped images {@link #skippedExamples} keeps. */
    public static final int EXAMPLES = 5;

    private final int resolution;
    private final long cacheBytes;
    private final boolean skipMissing;
    private final LinkedHashMap<Path, float[]> cache = new LinkedHashMap<>(16, 0.75f, true);
    private long cached;
    private int skippedItems, skippedImages;
    private final List<String> examples = new ArrayList<>();

    /** Images at {@code resolution} x {@code resolution}, caching up to {@code cacheBytes} of pixels. */
    public VqaImages(int resolution, long cacheBytes, boolean skipMissing) {
        if (resolution < 1) throw new IllegalArgumentException("image resolution must be positive, got " + resolution);
        if (cacheBytes < 0) throw new IllegalArgumentException("image cache size must be >= 0 bytes, got " + cacheBytes);
        this.resolution = resolution;
        this.cacheBytes = cacheBytes;
        this.skipMissing = skipMissing;
    }

    public int resolution() { return resolution; }

    public boolean skipMissing() { return skipMissing; }

    /** The image as a new F32 tensor [3, R, R] (the caller closes it); an unreadable file is an IOException naming it. */
    public Tensor load(Path image) throws IOException {
        return Tensor.of(pixels(image), 3, resolution, resolution);
    }

    /** The image's normalised pixels (CHW, R x R), from the cache when there; the array must not be changed. */
    float[] pixels(Path image) throws IOException {
        synchronized (this) {
            float[] hit = cache.get(image);
            if (hit != null) return hit;
        }
        float[] data = decode(image);
        remember(image, data);
        return data;
    }

    private float[] decode(Path image) throws IOException {
        try (Tensor t = ClipPreprocess.loadResized(image, resolution, resolution)) {
            return t.toFloatArray();
        } catch (IOException e) {
            String m = e.getMessage();
            throw new IOException(m != null && m.contains(image.toString()) ? m : image + ": " + (m == null ? e.toString() : m), e);
        } catch (RuntimeException e) {
            throw new IOException(image + ": cannot decode the image: " + e, e);
        }
    }

    private synchronized void remember(Path image, float[] data) {
        long bytes = 4L * data.length;
        if (bytes > cacheBytes || cache.containsKey(image)) return;
        while (cached + bytes > cacheBytes && !cache.isEmpty()) {
            Map.Entry<Path, float[]> eldest = cache.entrySet().iterator().next();
            cached -= 4L * eldest.getValue().length;
            cache.remove(eldest.getKey());
        }
        cache.put(image, data);
        cached += bytes;
    }

    /**
     * Decodes every distinct image of {@code items} once on {@code threads} threads (filling the cache) and
     * returns the items whose image is readable, in their order. A bad image is an IOException naming it
     * unless in skip-missing mode, where its items are left out and counted ({@link #skipped}).
     */
    public List<VqaItem> scan(List<VqaItem> items, int threads) throws IOException {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        List<Path> distinct = new ArrayList<>(new LinkedHashSet<>(items.stream().map(VqaItem::image).toList()));
        Map<Path, String> bad = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "vqa-images");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> done = new ArrayList<>();
            for (Path p : distinct) done.add(pool.submit(() -> {
                pixels(p);
                return null;
            }));
            for (int i = 0; i < distinct.size(); i++) {
                try {
                    done.get(i).get();
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (!skipMissing) {
                        for (Future<?> f : done) f.cancel(true);
                        if (c instanceof IOException io) throw io;
                        throw new IOException(distinct.get(i) + ": " + c, c);
                    }
                    bad.put(distinct.get(i), c.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while decoding images", e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        if (bad.isEmpty()) return List.copyOf(items);
        List<VqaItem> kept = new ArrayList<>(items.size());
        int dropped = 0;
        for (VqaItem it : items) {
            if (bad.containsKey(it.image())) dropped++;
            else kept.add(it);
        }
        synchronized (this) {
            skippedItems += dropped;
            skippedImages += bad.size();
            for (String m : bad.values()) if (examples.size() < EXAMPLES) examples.add(m);
        }
        return kept;
    }

    /** Items left out by {@link #scan} in skip-missing mode, over every scan so far. */
    public synchronized int skipped() { return skippedItems; }

    /** Distinct images that could not be read, over every scan so far. */
    public synchronized int skippedImages() { return skippedImages; }

    /** "file: reason" of the first {@value #EXAMPLES} unreadable images. */
    public synchronized List<String> skippedExamples() { return Collections.unmodifiableList(new ArrayList<>(examples)); }

    /** Bytes of pixels the cache holds now. */
    public synchronized long cachedBytes() { return cached; }
}
