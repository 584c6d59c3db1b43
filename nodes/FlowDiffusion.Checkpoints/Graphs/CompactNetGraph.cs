using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Real-ESRGAN's compact generator (SRVGGNetCompact) as ONNX: 3×3 convolutions, each but the last followed by a PReLU
/// with one slope per feature; the last gives channels × scale² maps that a pixel shuffle (torch's order: DepthToSpace
/// CRD) turns into the image at scale × the size, to which the input upsampled by nearest neighbour is added.
/// </summary>
public static class CompactNetGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, CompactNetArchitecture arch, string source, WeightBinding? binding = null)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var g = new GraphBuilder("srvggnet_compact");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, "batch", arch.Channels, "height", "width");
        var last = (2 * arch.Convolutions) + 2;
        var h = image;
        for (var i = 0; i < last; i += 2)
        {
            h = n.Conv(h, $"body.{i}");
            // PReLU's slopes [features] broadcast over [B, features, h, w] as [features, 1, 1].
            h = g.Node("PRelu", [h, g.Unsqueeze(n.W($"body.{i + 1}.weight"), 1, 2)]);
        }

        var shuffled = g.Node("DepthToSpace", [n.Conv(h, $"body.{last}")], OnnxAttribute.Int("blocksize", arch.Scale), OnnxAttribute.String("mode", "CRD"));
        var output = arch.Scale == 1 ? g.Add(shuffled, image) : g.Add(shuffled, g.UpsampleNearest(image, arch.Scale));
        g.Output(output, "upscaled", TensorElementType.Float, "batch", arch.Channels, "upscaled_height", "upscaled_width");
        return g.Build($"Real-ESRGAN compact generator (SRVGGNetCompact) built from {Path.GetFileName(source)}: {arch.Convolutions} body convolutions of {arch.Features} features, {arch.Scale}x.");
    }
}
