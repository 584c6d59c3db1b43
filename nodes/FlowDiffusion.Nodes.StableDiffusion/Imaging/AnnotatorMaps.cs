using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>An annotator graph built here from torch weights (lineart): opened once per graph and provider, run for a map of the input's size.</summary>
internal static class AnnotatorMaps
{
    /// <summary>The network of <paramref name="graph"/> on <paramref name="provider"/>, shared by the run's nodes.</summary>
    public static AnnotatorNetwork Open(INodeContext context, string graph, string provider)
    {
        var options = OnnxSessionOptions.Parse(provider, "");
        return context.Resources.GetOrAdd($"annotator|{graph}|{options.Describe()}", () => AnnotatorNetwork.Open(ModelLibrary.Of(context).Sessions, new OnnxModelSource(graph, options)));
    }

    /// <summary>Runs <paramref name="network"/> on planar [3, height, width] values; the map must have the input's size.</summary>
    public static float[] Run(AnnotatorNetwork network, float[] pixels, int height, int width, CancellationToken cancellationToken)
    {
        var (map, h, w) = network.Run(pixels, height, width, cancellationToken);
        if ((h, w) != (height, width))
            throw new ModelMismatchException(network.ModelPath, $"The annotator graph '{network.ModelPath}' returned a {w}×{h} map for a {width}×{height} image.");
        return map;
    }
}
