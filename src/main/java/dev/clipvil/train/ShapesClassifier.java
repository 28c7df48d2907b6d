package dev.clipvil.train;

import dev.clipvil.clip.VisionTransformer;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/** The demo model: a CLIP-style ViT ("visual.*") whose projection outputs one logit per class. */
public final class ShapesClassifier extends Module {
    private final VisionTransformer visual;

    public ShapesClassifier(int imageSize, int patch, int width, int layers, int heads, int classes, Init init) {
        visual = registerModule("visual", new VisionTransformer(imageSize, patch, width, layers, heads, classes, init));
    }

    /** Logits [N, classes] for images [N, 3, size, size]. */
    public Tensor forward(Tensor images) { return visual.forward(images); }
}
