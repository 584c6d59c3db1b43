using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Adapter;

/// <summary>One UNet evaluation with an image prompt: each row's decoupled keys and values and its scale, fed to the IP-adapted UNet graph.</summary>
internal static class IpAdaptedPrediction
{
    public static void Predict(IpAdaptedUNet unet, ImagePrompt prompt, DenoiserInput input, float[] hidden, float[]? textEmbeds, float[]? timeIds, Span<float> prediction, CancellationToken cancellationToken)
    {
        var scales = prompt.Scales(input.Timestep, input.Shape.Batch, unet.Channels.Count);
        var rows = Enumerable.Range(0, input.Shape.Batch).Select(r => prompt.RowOf(r).Attention).ToList();
        unet.Predict(input.Sample.ToArray(), input.Shape, input.Timestep, hidden, input.Context.Tokens, rows, scales, textEmbeds, timeIds, prediction, cancellationToken);
    }
}
