using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>An image prompt's part of one UNet evaluation: each row's decoupled keys and values and its scale per layer.</summary>
internal static class IpAdaptedPrediction
{
    public static IpAttention Attention(ImagePrompt prompt, DenoiserInput input, int layers)
    {
        var rows = Enumerable.Range(0, input.Shape.Batch).Select(r => prompt.RowOf(r).Attention).ToList();
        return new IpAttention(rows, prompt.Scales(input.Timestep, input.Shape.Batch, layers));
    }
}
