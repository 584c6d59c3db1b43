using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Adds seeded gaussian noise to images, as ComfyUI's ImageAddNoise.</summary>
[Node("image.add_noise", "1.0.0", Category = "image", Title = "Add Noise to Image",
    Description = "image + strength × torch.randn, clamped to 0 … 1, as ComfyUI's ImageAddNoise: the noise is torch's CPU generator seeded with seed, drawn once for the whole batch in ComfyUI's [batch, height, width, channel] order, so the values are the same as ComfyUI's.")]
public sealed class ImageAddNoiseNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to add noise to.")]
    public Image? Image { get; set; }

    /// <summary>The seed.</summary>
    [Parameter(Description = "The seed of torch's generator.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; }

    /// <summary>The noise's standard deviation.</summary>
    [Parameter(Description = "The factor on the standard normal noise.", Min = 0, Max = 1, Step = 0.01)]
    public double Strength { get; set; } = 0.5;

    /// <summary>The noisy images.</summary>
    [Output(Description = "The images with noise, clamped to 0 … 1.")]
    public Image? Noisy { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (!(Strength is >= 0 and <= 1)) throw new ArgumentException($"strength must be 0 … 1; got {Strength}");
        int batch = image.Batch, height = image.Height, width = image.Width, plane = height * width;
        // ComfyUI's IMAGE is [batch, height, width, 3]: one draw of that many values, channels innermost.
        var noise = new TorchGenerator(Seed).Randn([batch, height, width, 3]);
        var strength = (float)Strength;
        var source = image.Pixels;
        var pixels = new float[source.Length];
        for (var b = 0; b < batch; b++)
        for (var c = 0; c < 3; c++)
        for (var p = 0; p < plane; p++)
        {
            var i = (b * 3 + c) * plane + p;
            pixels[i] = Math.Clamp(source[i] + (strength * noise[((b * plane) + p) * 3 + c]), 0f, 1f);
        }

        Noisy = new Image(batch, height, width, pixels);
        return Task.CompletedTask;
    }
}
