using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The input image's latents an instruct-pix2pix UNet (8 input channels) reads after the noisy latents, carried on the
/// conditioning as ComfyUI's <c>concat_latent_image</c> (conditioning.instruct_pix2pix attaches it to both prompts).
/// <see cref="OnnxUNetModel"/> appends it per row before the UNet runs, so samplers and guiders see a 4-channel model.
/// A row whose conditioning lacks it reads zeros, and latents of another size are resized to the sampled ones (bilinear,
/// centre crop), as ComfyUI's IP2P model does.
/// </summary>
internal static class InstructPix2PixImage
{
    /// <summary>The input channels of an instruct-pix2pix UNet: latents (4) ‖ image latents (4).</summary>
    public const int UNetChannels = 8;

    /// <summary>The extra's key: [batch, 4, h, w] scaled latents; rows of conditionings without it are zeros.</summary>
    public static readonly ExtraKey<ExtraTensor> Key = new("instruct_pix2pix.image_latent", ZeroFilled);

    /// <summary>
    /// The 8-channel model input of one call: each row's latents then its image latents. Without image latents on any row
    /// it is an error naming the node that attaches them.
    /// </summary>
    /// <param name="input">The call (4-channel sample).</param>
    /// <param name="model">The model's name, for messages.</param>
    public static (float[] Sample, LatentShape Shape) Append(DenoiserInput input, string model)
    {
        var shape = input.Shape;
        if (shape.Channels != 4)
            throw new ArgumentException($"the UNet of '{model}' is an instruct-pix2pix model: it takes 4 latent channels (and the image latents from the conditioning), not {shape.Channels}");
        if (!input.Extras.TryGet(Key, out var image))
            throw new ArgumentException($"the UNet of '{model}' is an instruct-pix2pix model (8 input channels) and reads the input image's latents from the conditioning; pass the prompts through conditioning.instruct_pix2pix (ComfyUI's InstructPixToPixConditioning) and sample its latent");
        if (image.Shape is not [_, 4, var height, var width])
            throw new ArgumentException($"the instruct-pix2pix image latents are [{string.Join(", ", image.Shape)}]; they must be [batch, 4, h, w] VAE latents");
        // ComfyUI resizes image latents of another size to the sampled latents' (common_upscale: bilinear, centre crop).
        if ((height, width) != (shape.Height, shape.Width))
            image = new ExtraTensor([image.Batch, 4, shape.Height, shape.Width],
                PlanarResize.Resize(image.Values, image.Batch * 4, height, width, shape.Height, shape.Width, "bilinear", centerCrop: true));
        if (image.Batch != shape.Batch && image.Batch != 1)
            throw new ArgumentException($"the instruct-pix2pix image latents have batch {image.Batch} but the sampled latents {shape.Batch}; give as many images as latents, or one");
        var plane = 4 * shape.Height * shape.Width;
        var sample = new float[shape.Batch * 2 * plane];
        var latents = input.Sample.Span;
        for (var b = 0; b < shape.Batch; b++)
        {
            latents.Slice(b * plane, plane).CopyTo(sample.AsSpan(2 * b * plane));
            image.ItemOf(b).CopyTo(sample.AsSpan((2 * b + 1) * plane));
        }

        return (sample, shape with { Channels = UNetChannels });
    }

    // ExtraTensor's batching, a conditioning without the image latents filling its rows with zeros.
    private static ExtraTensor ZeroFilled(IReadOnlyList<ExtraPart<ExtraTensor>> parts)
    {
        var first = parts.First(p => p.Value is not null).Value!;
        var zeros = new ExtraTensor([1, .. first.Shape.Skip(1)], new float[first.ItemLength]);
        return ExtraTensor.Concat([.. parts.Select(p => p with { Value = p.Value ?? zeros })]);
    }
}
