using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Engine.Execution;

/// <summary>The engine's <see cref="INodeContext"/>: forwards progress, previews and files to the run's event stream.</summary>
internal sealed class NodeContext(
    string runId,
    string nodeId,
    ILogger logger,
    IServiceProvider services,
    IResourceStore resources,
    Lazy<WorkflowInfo> workflow,
    RunOptions options,
    Action<RunEvent> publish,
    Action<string> recordFile,
    Action<string, double> recordMetric,
    Func<string, bool> isOutputUsed,
    Action<string>? dependsOn = null) : INodeContext
{
    public string NodeId => nodeId;

    public string RunId => runId;

    public ILogger Logger => logger;

    public IServiceProvider Services => services;

    public IResourceStore Resources => resources;

    // Written on first use: only nodes that embed the workflow (image.save) pay for serialising it.
    public WorkflowInfo Workflow => workflow.Value;

    public string OutputDirectory => options.OutputDirectory;

    public string WorkingDirectory => options.WorkingDirectory;

    public InputLimits Limits => options.Limits ?? InputLimits.Default;

    public string ResolveInputPath(string parameter, string path) => options.InputFolders is { } folders
        ? folders.Resolve(parameter, path, options.WorkingDirectory)
        : Path.GetFullPath(path, options.WorkingDirectory);

    public bool IsOutputUsed(string output) => isOutputUsed(output);

    public void DependsOn(string path) => dependsOn?.Invoke(path);

    public void ReportProgress(NodeProgress progress) => publish(new NodeProgressed(runId, DateTimeOffset.UtcNow, nodeId, progress));

    public void ReportPreview(Image preview) => publish(new NodePreviewed(runId, DateTimeOffset.UtcNow, nodeId, preview));

    public void ReportMetric(string name, double value)
    {
        recordMetric(name, value);
        publish(new NodeMetric(runId, DateTimeOffset.UtcNow, nodeId, name, value));
    }

    public void ReportOutputFile(string path)
    {
        recordFile(path);
        publish(new OutputWritten(runId, DateTimeOffset.UtcNow, nodeId, path));
    }
}
