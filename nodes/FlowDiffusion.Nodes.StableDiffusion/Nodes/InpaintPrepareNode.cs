using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Everything an inpainting sampler needs from an image and a mask.</summary>
[Node("inpaint.prepare", "1.0.0", Category = "latent", Title = "Prepare Inpaint",
    Description = "Encodes the image (latent_image) and the image with the masked part blanked (masked_latent, for 9-channel inpainting UNets), as diffusers' inpaint pipeline does.")]
public sealed class InpaintPrepareNode : INode
{
    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE.")]
    public IVae? Vae { get; set; }

    /// <summary>The image.</summary>
    [Input(Description = "The image to inpaint.")]
    public Image? Image { get; set; }

    /// <summary>The mask.</summary>
    [Input(Description = "White = repaint.")]
    public Mask? Mask { get; set; }

    /// <summary>Latents of the image.</summary>
    [Output(Description = "Latents of the whole image.")]
    public Latent? LatentImage { get; set; }

    /// <summary>Latents of the masked image.</summary>
    [Output(Description = "Latents of the image with the repaint region blanked.")]
    public Latent? MaskedLatent { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var image = Image!;
        var mask = Mask!;
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new ArgumentException($"{MaskSources.Describe(mask)} is {mask.Width}×{mask.Height} but the image is {image.Width}×{image.Height}; they must match: give mask.load the image's width and height");
        LatentImage = await Vae!.EncodeAsync(image, cancellationToken);
        var pixels = image.ToArray();
        int plane = image.Width * image.Height;
        for (var b = 0; b < image.Batch; b++)
        for (var c = 0; c < 3; c++)
        for (var p = 0; p < plane; p++)
            if (mask.Values[(mask.Batch == 1 ? 0 : b) * plane + p] >= 0.5f)
                pixels[(b * 3 + c) * plane + p] = 0.5f; // 0 in the VAE's [-1, 1] range, as diffusers blanks it
        MaskedLatent = await Vae.EncodeAsync(new Image(image.Batch, image.Height, image.Width, pixels), cancellationToken);
    }
}
