using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Attributes time spent inside ONNX Runtime to the node whose work caused it, as the <c>onnx_run_seconds</c>
/// metric, and counts the runs that handed their arena's free memory back (<c>onnx_arena_releases</c>: a sampler's last
/// evaluation, so that the VAE decode after it does not add its working memory to the UNet's). Model handles are shared values without a node context, so the node sets itself as the one to count for
/// (flowing through awaits) while it calls them, and each model run adds its own time (<see cref="OnnxRunMeter"/>).
/// </summary>
internal static class OnnxClock
{
    public const string Metric = "onnx_run_seconds";
    public const string ReleasesMetric = OnnxArenaRelease.Metric;

    public static OnnxRunMeter.Scope Attribute(INodeContext context) =>
        OnnxRunMeter.Attribute((elapsed, releasedArena) =>
        {
            context.ReportMetric(Metric, elapsed.TotalSeconds);
            if (releasedArena) context.ReportMetric(ReleasesMetric, 1);
        });
}
