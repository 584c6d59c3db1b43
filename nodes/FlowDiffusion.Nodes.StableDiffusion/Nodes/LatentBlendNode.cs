using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Mixes two latents value by value, as ComfyUI's LatentBlend.</summary>
[Node("latent.blend", "1.0.0", Category = "latent/advanced", Title = "Blend Latents",
    Description = "samples1 · blend_factor + samples2 · (1 − blend_factor), value by value, as ComfyUI's LatentBlend (normal mode): samples2 is first resized to samples1's size (bicubic, centre-cropped, as ComfyUI's) and its batch repeated to samples1's. The result keeps samples1's seeds and noise indices.")]
public sealed class LatentBlendNode : INode
{
    /// <summary>The first latents.</summary>
    [Input(Description = "The latents blend_factor weighs; the result has their shape.")]
    public Latent? Samples1 { get; set; }

    /// <summary>The second latents.</summary>
    [Input(Description = "The latents 1 − blend_factor weighs, brought to samples1's shape.")]
    public Latent? Samples2 { get; set; }

    /// <summary>The weight of samples1.</summary>
    [Parameter(Description = "How much of samples1 (1 = all of it, 0 = all of samples2).", Min = 0, Max = 1, Step = 0.01)]
    public double BlendFactor { get; set; } = 0.5;

    /// <summary>The blend.</summary>
    [Output(Description = "The blended latents.")]
    public Latent? Blended { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var first = Samples1!;
        if (!(BlendFactor is >= 0 and <= 1)) throw new ArgumentException($"blend_factor must be 0 … 1; got {BlendFactor}");
        var second = LatentMatch.To(first, Samples2!, "samples1", "samples2", "bicubic");
        // torch multiplies the float32 tensors by the Python floats blend_factor and 1 − blend_factor, each made float32.
        float factor = (float)BlendFactor, rest = (float)(1 - BlendFactor);
        var own = first.Values;
        var values = new float[own.Length];
        for (var i = 0; i < values.Length; i++) values[i] = own[i] * factor + second[i] * rest;
        Blended = new Latent(first.Batch, first.Channels, first.Height, first.Width, values, first.Seeds) { NoiseIndices = first.NoiseIndices };
        return Task.CompletedTask;
    }
}
