using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Nodes.StableDiffusion.Nodes;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// The annotator graphs FlowDiffusion.Checkpoints builds from the users' torch weights (HED, PiDiNet, lineart, Depth
/// Anything, M-LSD): the node's weights file resolved (a missing one is an error naming <c>model</c> and where the file comes
/// from), its graph prepared once in the annotators cache (the first conversion reported as progress), and opened once per
/// graph and provider for the run's nodes.
/// </summary>
internal static class AnnotatorGraphs
{
    /// <summary>Prepares a graph: the weights file, the conversion's progress report and limits in, the graph file out.</summary>
    public delegate string Prepare(string weights, Action converting, ConversionLimits limits);

    /// <summary>The map function of <paramref name="model"/>'s graph: a planar [3, h, w] image in, its h × w plane out.</summary>
    /// <param name="context">The node's context.</param>
    /// <param name="model">The node's <c>model</c> parameter.</param>
    /// <param name="provider">The ONNX Runtime execution provider.</param>
    /// <param name="kind">The annotator ("hed", "pidinet", "lineart", "depth_anything"), for messages and the shared network's key.</param>
    /// <param name="whereFrom">What to put in models/annotators when the file is missing, and where it comes from.</param>
    /// <param name="prepare">The annotators cache's preparation of this kind's graph (<see cref="AnnotatorModelCache"/>).</param>
    /// <param name="cancellationToken">Stops the conversion and each evaluation.</param>
    /// <param name="planes">The output's planes (MlsdGraph's 5).</param>
    /// <param name="shrink">How many times smaller than the input the output's sides are (MlsdGraph's 2).</param>
    public static Func<float[], int, int, float[]> Open(INodeContext context, string model, string provider, string kind, string whereFrom,
        Prepare prepare, CancellationToken cancellationToken, int planes = 1, int shrink = 1)
    {
        var network = OpenNetwork(context, model, provider, kind, whereFrom, prepare, 1, cancellationToken);
        return (pixels, height, width) => network.RunPlanes(pixels, height, width, planes, shrink, cancellationToken);
    }

    /// <summary>
    /// The network of <paramref name="model"/>'s graph with <paramref name="outputs"/> outputs (see <see cref="Open"/> for the
    /// rest); <paramref name="field"/> is the parameter the errors name (image.openpose's <c>hand_model</c>).
    /// </summary>
    public static AnnotatorMapNetwork OpenNetwork(INodeContext context, string model, string provider, string kind, string whereFrom,
        Prepare prepare, int outputs, CancellationToken cancellationToken, string field = "model")
    {
        var path = PathResolver.Resolve(context, model, field);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{field}: '{model}' not found (looked at {path}); put {whereFrom} in models/annotators.", path);
        var graph = prepare(path, () => context.ReportProgress(new NodeProgress(0, $"converting {Path.GetFileName(path)} to ONNX (first use only)")),
            Conversions.Limits(context, cancellationToken));
        var options = OnnxSessionOptions.Parse(provider, "");
        return context.Resources.GetOrAdd($"{kind}|{graph}|{options.Describe()}",
            () => AnnotatorMapNetwork.Open(ModelLibrary.Of(context).Sessions, new OnnxModelSource(graph, options), kind, outputs));
    }
}
