using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Encodes images with a CLIP image encoder into image embeddings.</summary>
[Node("clip_vision.encode", "1.2.0", Category = "conditioning", Title = "CLIP Vision Encode",
    Description = "Turns images into CLIP image embeddings (one per image) for ipadapter.apply: the shortest side resized to the encoder's size (224) by antialiased bicubic, centre-cropped, rounded to 8 bits and normalised with CLIP's mean and std, as ComfyUI does. With an encoder converted from .safetensors it also keeps the penultimate hidden states (and those of a zero image, the unconditional side) that IP-Adapter Plus reads; the unconditional side is zero pixel values as diffusers makes it, or a black image as ComfyUI's IPAdapter_plus pack does.")]
public sealed class ClipVisionEncodeNode : INode
{
    /// <summary>The encoder.</summary>
    [Input(Description = "The CLIP image encoder (clip_vision.load).")]
    public IClipVision? ClipVision { get; set; }

    /// <summary>The images.</summary>
    [Input(Description = "The images to encode (a batch gives one embedding per image).")]
    public Image? Image { get; set; }

    /// <summary>How the image is fitted to the encoder's square.</summary>
    [Parameter(Description = "center: resize the shortest side and crop the middle square; none: squeeze the whole image into the square.", Choices = ["center", "none"])]
    public string Crop { get; set; } = "center";

    /// <summary>What the unconditional hidden states encode.</summary>
    [Parameter(Description = "The image whose penultimate hidden states IP-Adapter Plus gives the negative: zeros (zero pixel values after normalisation, as diffusers) or black (a black image normalised, as ComfyUI's IPAdapter_plus pack).", Choices = ["zeros", "black"])]
    public string Unconditional { get; set; } = "zeros";

    /// <summary>The embeddings.</summary>
    [Output(Description = "The image embeddings, for ipadapter.apply.")]
    public ClipVisionOutput? Embeds { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var handle = ClipVision as ClipVisionHandle
            ?? throw new ArgumentException($"clip_vision: this encoder ({ClipVision?.GetType().Name ?? "none"}) was not loaded by clip_vision.load");
        var image = Image!;
        var pixels = ClipImages.Preprocess(image, handle.Model.ImageSize, Crop switch
        {
            "center" => true,
            "none" => false,
            _ => throw new ArgumentException($"crop: '{Crop}' is not center or none"),
        });
        if (handle.Model.HasHiddenStates)
        {
            var size = handle.Model.ImageSize;
            var unconditional = Unconditional switch
            {
                "zeros" => null,
                "black" => ClipImages.Preprocess(new Image(1, size, size, new float[size * size * 3]), size, crop: true),
                _ => throw new ArgumentException($"unconditional: '{Unconditional}' is not zeros or black"),
            };
            var (embeds, width, hidden) = handle.Model.EncodeWithHiddenStates(pixels, image.Batch, cancellationToken, unconditional);
            Embeds = new ClipVisionOutput(image.Batch, width, embeds, hidden);
        }
        else
        {
            var (embeds, width) = handle.Model.Encode(pixels, image.Batch, cancellationToken);
            Embeds = new ClipVisionOutput(image.Batch, width, embeds);
        }
        return Task.CompletedTask;
    }
}
