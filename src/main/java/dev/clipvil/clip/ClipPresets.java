package dev.clipvil.clip;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The configurations of OpenAI's released CLIP models, as the reference's {@code build_model} infers
 * them from the released state dicts (context 77, vocabulary 49408, 12 text layers for all of them).
 */
public final class ClipPresets {
    private ClipPresets() {}

    private static final int CTX = 77, VOCAB = 49408;
    private static final Map<String, ClipConfig> ALL;

    static {
        LinkedHashMap<String, ClipConfig> m = new LinkedHashMap<>();
        m.put("RN50", ClipConfig.resnet(1024, 224, new int[]{3, 4, 6, 3}, 64, CTX, VOCAB, 512, 8, 12));
        m.put("RN101", ClipConfig.resnet(512, 224, new int[]{3, 4, 23, 3}, 64, CTX, VOCAB, 512, 8, 12));
        m.put("RN50x4", ClipConfig.resnet(640, 288, new int[]{4, 6, 10, 6}, 80, CTX, VOCAB, 640, 10, 12));
        m.put("RN50x16", ClipConfig.resnet(768, 384, new int[]{6, 8, 18, 8}, 96, CTX, VOCAB, 768, 12, 12));
        m.put("RN50x64", ClipConfig.resnet(1024, 448, new int[]{3, 15, 36, 10}, 128, CTX, VOCAB, 1024, 16, 12));
        m.put("ViT-B/32", ClipConfig.vit(512, 224, 12, 768, 32, CTX, VOCAB, 512, 8, 12));
        m.put("ViT-B/16", ClipConfig.vit(512, 224, 12, 768, 16, CTX, VOCAB, 512, 8, 12));
        m.put("ViT-L/14", ClipConfig.vit(768, 224, 24, 1024, 14, CTX, VOCAB, 768, 12, 12));
        m.put("ViT-L/14@336px", ClipConfig.vit(768, 336, 24, 1024, 14, CTX, VOCAB, 768, 12, 12));
        ALL = Collections.unmodifiableMap(m);
    }

    /** Every preset by its released name, in release order. */
    public static Map<String, ClipConfig> all() { return ALL; }

    /** The preset {@code name} ("ViT-B/32", "RN50x4", ...); an unknown name is refused with the list of known ones. */
    public static ClipConfig get(String name) {
        ClipConfig c = ALL.get(name);
        if (c == null) throw new IllegalArgumentException("unknown CLIP model '" + name + "' (known: " + String.join(", ", ALL.keySet()) + ")");
        return c;
    }
}
