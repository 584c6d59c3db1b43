using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Attributes time spent inside ONNX Runtime to the node whose work caused it, as the <c>onnx_run_seconds</c>
/// metric. Model handles are shared values without a node context, so the node sets itself as the one to count for
/// (flowing through awaits) while it calls them, and each model run adds its own time (<see cref="OnnxRunMeter"/>).
/// </summary>
internal static class OnnxClock
{
    public const string Metric = "onnx_run_seconds";

    public static OnnxRunMeter.Scope Attribute(INodeContext context) =>
        OnnxRunMeter.Attribute(elapsed => context.ReportMetric(Metric, elapsed.TotalSeconds));
}
