using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Hosting;
using FlowDiffusion.Cluster.Routing;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cluster.Worker;

/// <summary>Executes claimed runs on this process's engine, as the embedded dispatcher does, and describes what the worker has.</summary>
public sealed class EngineRunExecutor(FlowDiffusionEngine engine, IOptions<ServerOptions> server, IOptions<ScaleOutOptions> options, WarmUp? warmUp = null) : IRunExecutor
{
    /// <summary>The folder run paths (models, images) resolve against.</summary>
    public string WorkingFolder => Path.GetFullPath(server.Value.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);

    /// <inheritdoc />
    public WorkerCapabilities Describe(string worker, string? loadedModel, int slots)
    {
        var memory = options.Value.SlotMemoryBytes > 0 ? options.Value.SlotMemoryBytes : engine.Options.EffectiveMaxRunMemory / Math.Max(1, slots);
        return new WorkerCapabilities(worker, [.. ModelsPresent()], loadedModel,
            engine.Plugins.Plugins.GroupBy(p => p.Manifest.Id).ToDictionary(g => g.Key, g => g.First().Manifest.Version, StringComparer.Ordinal),
            [.. engine.Catalog.All.Select(n => n.Id + "@" + n.Version)],
            memory);
    }

    /// <inheritdoc />
    public async Task<ExecutedRun> ExecuteAsync(ClaimedRun run, string folder, Action<WireEvent> publish, CancellationToken cancellationToken)
    {
        var validation = engine.Parse(run.Yaml, (run.Workflow ?? "workflow") + ".yaml", InputValues.FromJson(run.InputsJson));
        if (validation.Plan is null)
            return new ExecutedRun("failed", "[]", [], "the workflow is not valid on this worker: " + string.Join("; ", validation.Errors));
        var started = engine.Start(validation.Plan, new RunOptions { RunId = run.Ticket.RunId, OutputDirectory = folder, WorkingDirectory = WorkingFolder },
            collectEvents: true, CancellationToken.None);
        using (cancellationToken.Register(started.Cancel))
        {
            await foreach (var item in started.ReadEventsAsync(CancellationToken.None))
            {
                if (WireEvents.ToWire(item) is { } wire) publish(wire);
            }
        }
        var result = await started.Completion;
        var status = result.Status switch
        {
            RunStatus.Completed => "completed",
            RunStatus.Cancelled => "cancelled",
            _ => "failed",
        };
        return new ExecutedRun(status, NodeTimingJson.Write(result.Nodes).ToJsonString(), result.OutputFiles, result.Error);
    }

    /// <inheritdoc />
    public async Task<string?> WarmUpAsync(CancellationToken cancellationToken)
    {
        if (warmUp is null) return null;
        await warmUp.RunAsync(engine, WorkingFolder, anyInputPath: false, cancellationToken);
        // The slots then claim runs of the warmed model first, as after a run of it.
        return warmUp.Snapshot?["state"]?.GetValue<string>() == "done" && server.Value.WarmUpInputs.TryGetValue("model", out var model)
            ? ClaimPolicy.NormalizeModel(model)
            : null;
    }

    // Model folders (diffusers ONNX layout) and checkpoint files under the models folder, named as workflows name them.
    private IEnumerable<string> ModelsPresent()
    {
        var root = Path.GetFullPath(engine.Options.ModelsFolder, WorkingFolder);
        if (!Directory.Exists(root)) yield break;
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3, IgnoreInaccessible = true };
        foreach (var index in Directory.EnumerateFiles(root, "model_index.json", options))
            yield return Relative(Path.GetDirectoryName(index)!);
        foreach (var checkpoint in Directory.EnumerateFiles(root, "*.safetensors", options))
            yield return Relative(checkpoint);
    }

    private string Relative(string path) => ClaimPolicy.NormalizeModel(Path.GetRelativePath(WorkingFolder, path));
}
