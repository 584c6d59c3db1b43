using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's InstructPixToPixConditioning: the image to edit, encoded, on both prompts for an 8-channel UNet.</summary>
[Node("conditioning.instruct_pix2pix", "1.0.0", Category = "conditioning", Title = "InstructPix2Pix Conditioning",
    Description = "For an instruct-pix2pix model (a UNet with 8 input channels): encodes the image to edit (sides cut to multiples of 8 around the centre, as ComfyUI crops them) and attaches its latents to both conditionings, which the UNet reads after the noisy latents; latent is zeros of the image latents' size to sample from (sampled at another size, the UNet reads them resized, bilinear with a centre crop, as ComfyUI's). Other UNets refuse the conditionings. For the paper's separate image and text guidance, feed positive, negative and the original negative to guidance.dual_cfg (ComfyUI's DualCFGGuider): a conditioning without the image latents gives the UNet zeros.")]
public sealed class InstructPix2PixConditioningNode : INode
{
    /// <summary>The positive conditioning.</summary>
    [Input(Description = "The edit instruction's conditioning.")]
    public Conditioning? Positive { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "The negative conditioning.")]
    public Conditioning? Negative { get; set; }

    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE that encodes the image.")]
    public IVae? Vae { get; set; }

    /// <summary>The image to edit.</summary>
    [Input(Description = "The image to edit; sides that are not multiples of 8 are cut down to them, centred.")]
    public Image? Image { get; set; }

    /// <summary>The positive conditioning with the image latents.</summary>
    [Output(Description = "positive with the image latents.")]
    public Conditioning? PositiveOut { get; set; }

    /// <summary>The negative conditioning with the image latents.</summary>
    [Output(Description = "negative with the image latents.")]
    public Conditioning? NegativeOut { get; set; }

    /// <summary>Zeros of the image latents' size.</summary>
    [Output(Description = "Zero latents of the image latents' size and batch, to sample from.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var encoded = await Vae!.EncodeAsync(CropToMultipleOf8(Image!), cancellationToken);
        var latent = new ExtraTensor([encoded.Batch, encoded.Channels, encoded.Height, encoded.Width], encoded.ToArray());
        PositiveOut = CombinedConditionings.Each(Positive!, part => part.With(InstructPix2PixImage.Key, latent));
        NegativeOut = CombinedConditionings.Each(Negative!, part => part.With(InstructPix2PixImage.Key, latent));
        Latent = new Latent(encoded.Batch, encoded.Channels, encoded.Height, encoded.Width, new float[encoded.Batch * encoded.ItemLength]);
    }

    // ComfyUI's crop: each side down to a multiple of 8, the (side % 8) / 2 first rows or columns dropped.
    private static Image CropToMultipleOf8(Image image)
    {
        int height = image.Height / 8 * 8, width = image.Width / 8 * 8;
        if (height == 0 || width == 0)
            throw new ArgumentException($"the image is {image.Width}×{image.Height}; the VAE needs at least 8×8 pixels");
        if (height == image.Height && width == image.Width) return image;
        int top = image.Height % 8 / 2, left = image.Width % 8 / 2;
        var pixels = new float[image.Batch * 3 * height * width];
        var source = image.Pixels;
        for (var plane = 0; plane < image.Batch * 3; plane++)
        for (var y = 0; y < height; y++)
            source.Slice((plane * image.Height + top + y) * image.Width + left, width).CopyTo(pixels.AsSpan((plane * height + y) * width, width));
        return new Image(image.Batch, height, width, pixels);
    }
}
