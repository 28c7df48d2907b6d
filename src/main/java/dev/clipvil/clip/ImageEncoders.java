package dev.clipvil.clip;

import dev.clipvil.nn.Init;

/** Builds the image tower a {@link ClipConfig} describes: the one place a new tower kind plugs in. */
public final class ImageEncoders {
    private ImageEncoders() {}

    public static ImageEncoder create(ClipConfig c, Init init) {
        if (c.isVit()) {
            VisionTransformer vit = new VisionTransformer(c.imageResolution(), c.visionPatchSize(), c.visionWidth(), c.visionLayers().get(0),
                    c.visionHeads(), c.embedDim(), init);
            return new VitImageEncoder(vit).withActivation(c.visionActivation());
        }
        int[] layers = c.visionLayers().stream().mapToInt(Integer::intValue).toArray();
        return new ModifiedResNet(layers, c.embedDim(), c.visionHeads(), c.imageResolution(), c.visionWidth(), init);
    }
}
