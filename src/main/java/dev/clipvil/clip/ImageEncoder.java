package dev.clipvil.clip;

import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP's image tower as {@link Clip} sees it: a module (registered under "visual", so its parameter
 * names follow OpenAI's "visual.*" keys) that maps pixels to image features. A tower class may
 * implement this itself ({@code module()} returning {@code this}); {@link VitImageEncoder} adapts a
 * {@link VisionTransformer}.
 */
public interface ImageEncoder {
    /** The module that owns the tower's parameters. */
    Module module();

    /** pixels [N, 3, R, R] (normalised as CLIP's preprocessing) to features [N, outputDim], unnormalised, as {@code encode_image}. */
    Tensor encode(Tensor pixels);

    /** R, the side of the square input. */
    int inputResolution();

    /** The feature size (CLIP's embed_dim). */
    int outputDim();

    /**
     * CLIP-ViL's grid features of pixels [N, 3, H, W]: [N, {@link #gridChannels()}, gh, gw] (a ResNet's
     * layer4 map, a ViT's patch tokens after ln_post), at any input size that leaves at least one cell.
     */
    Tensor grid(Tensor pixels);

    /** The channel count C of {@link #grid}'s output. */
    int gridChannels();
}
