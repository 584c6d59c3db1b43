using System.Globalization;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// One model's weights as a merge reads them: the weights its graph declares, its description (file and overrides) and a
/// reader of one weight's value with those overrides.
/// </summary>
internal sealed record MergeSource(IReadOnlyList<WeightInfo> Weights, OnnxModelSource Source, Func<string, CancellationToken, WeightTensor> Read)
{
    /// <summary>A UNet's weights.</summary>
    public static MergeSource Of(UNet unet) => new(unet.Weights, unet.Source, unet.ReadWeight);

    /// <summary>A text encoder's weights.</summary>
    public static MergeSource Of(TextEncoder encoder) => new(encoder.Weights, encoder.Source, encoder.ReadWeight);

    /// <summary>
    /// What determines this model's weight values, for the merged session's cache key: the graph file (path, size, time)
    /// and the overrides' identity.
    /// </summary>
    public string Identity
    {
        get
        {
            var file = new FileInfo(Source.ModelPath);
            return string.Create(CultureInfo.InvariantCulture,
                $"{file.FullName}:{(file.Exists ? file.Length : -1)}:{(file.Exists ? file.LastWriteTimeUtc.Ticks : 0)}:{Source.Overrides.Identity}");
        }
    }
}
