package dev.clipvil.clip;

import dev.clipvil.tensor.Tensor;

/**
 * What {@link Clip#forward} computes for a batch of images and texts.
 *
 * @param imageFeatures  [Ni, E] as OpenAI's {@code encode_image} returns them (unnormalised)
 * @param textFeatures   [Nt, E] as {@code encode_text} (unnormalised)
 * @param imageEmbeds    [Ni, E] L2-normalised (HF's {@code image_embeds})
 * @param textEmbeds     [Nt, E] L2-normalised (HF's {@code text_embeds})
 * @param logitsPerImage [Ni, Nt] exp(logit_scale) times the cosine similarities
 * @param logitsPerText  [Nt, Ni] its transpose (a view)
 */
public record ClipOutput(Tensor imageFeatures, Tensor textFeatures, Tensor imageEmbeds, Tensor textEmbeds,
                         Tensor logitsPerImage, Tensor logitsPerText) {}
