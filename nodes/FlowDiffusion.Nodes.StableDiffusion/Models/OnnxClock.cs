using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Attributes time spent inside ONNX Runtime to the node whose work caused it, as the <c>onnx_run_seconds</c>
/// metric. Model handles are shared values without a node context, so the node sets itself as the current one
/// (flowing through awaits) while it calls them.
/// </summary>
internal static class OnnxClock
{
    public const string Metric = "onnx_run_seconds";

    private static readonly AsyncLocal<INodeContext?> Current = new();

    public static Scope Attribute(INodeContext context)
    {
        var previous = Current.Value;
        Current.Value = context;
        return new Scope(previous);
    }

    public static void Add(TimeSpan elapsed) => Current.Value?.ReportMetric(Metric, elapsed.TotalSeconds);

    /// <summary>Restores the previous node on dispose.</summary>
    public readonly struct Scope(INodeContext? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
