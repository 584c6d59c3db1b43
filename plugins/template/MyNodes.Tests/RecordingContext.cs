using System.Reflection;
using FlowDiffusion.Sdk;

namespace MyNodes.Tests;

/// <summary>
/// Stands in for the engine's node context: records progress reports; the members these tests do not use throw.
/// Built as a proxy so it keeps compiling when the SDK's context grows.
/// </summary>
public class RecordingContext : DispatchProxy
{
    /// <summary>Every progress report, in order.</summary>
    public List<NodeProgress> Progress { get; } = [];

    /// <summary>A context that records into a new <see cref="RecordingContext"/>.</summary>
    public static (INodeContext Context, RecordingContext Recorder) Create()
    {
        var context = Create<INodeContext, RecordingContext>();
        return (context, (RecordingContext)(object)context);
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        switch (targetMethod?.Name)
        {
            case nameof(INodeContext.ReportProgress):
                Progress.Add((NodeProgress)args![0]!);
                return null;
            case "get_" + nameof(INodeContext.NodeId):
                return "test";
            default:
                throw new NotSupportedException($"{targetMethod?.Name} is not part of this test context");
        }
    }
}
