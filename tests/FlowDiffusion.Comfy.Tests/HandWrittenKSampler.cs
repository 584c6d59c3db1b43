namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// The mapping tests' KSampler drawing on the tiny SD 1.x checkpoint ("a red circle" against the empty prompt, CFG 5,
/// euler with the normal schedule, 2 steps, seed 5), written by hand as FlowDiffusion nodes after a <c>model</c> node
/// (model.load) and whatever patches it.
/// </summary>
internal static class HandWrittenKSampler
{
    /// <summary>
    /// The nodes from the prompts to <c>save</c>, sampling with the <paramref name="unet"/> and <paramref name="clip"/>
    /// outputs at <paramref name="size"/>² and decoding <paramref name="decoded"/> (the sample, or a node after it).
    /// </summary>
    public static string Nodes(string unet, string clip, int size, string decoded = "sample.latent") => $$"""
          positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle, syntax: comfyui } }
          negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
          positive: { node: clip.encode, in: { clip: {{clip}}, tokens: positive_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: {{clip}}, tokens: negative_tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: {{unet}} } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: negative.conditioning }, with: { scale: 5 } }
          latent: { node: latent.empty, with: { width: {{size}}, height: {{size}}, batch: 1 } }
          sample:
            node: diffusion.ksampler
            in: { guider: guider.guider, config: model.scheduler_config, latent_image: latent.latent }
            with: { seed: 5, steps: 2, sampler: euler, scheduler: normal, denoise: 1 }
          decode: { node: vae.decode, in: { vae: model.vae, latent: {{decoded}} } }
          save: { node: image.save, in: { images: decode.image }, with: { prefix: equivalent } }
        """;
}
