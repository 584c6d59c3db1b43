using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Comfy.Backend;

/// <summary>
/// <see cref="IComfyBackend"/> over today's server: the run store, the dispatcher and its per-run feeds. The only file
/// of the layer that knows those types.
/// </summary>
internal sealed class ServerComfyBackend(FlowDiffusionEngine engine, IRunStore store, RunDispatcher dispatcher) : IComfyBackend
{
    public string OutputFolder => Path.GetFullPath(engine.Options.OutputFolder);

    public async Task<string> SubmitAsync(string yaml, CancellationToken cancellationToken)
    {
        var validation = engine.Parse(yaml, "comfyui.yaml", InputValues.FromJson("{}"));
        if (!validation.IsValid)
            throw new ComfyBackendException(validation.Diagnostics.Where(d => d.IsError).Select(d => (d.NodeId, d.Message)).ToList());
        var (run, created) = await store.AddAsync(new RunSubmission(yaml, "{}", "comfyui"), cancellationToken);
        if (created) dispatcher.Notify();
        return run.Id;
    }

    public Task<bool> CancelAsync(string runId, CancellationToken cancellationToken) => dispatcher.CancelAsync(runId, cancellationToken);

    public async Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(runId, cancellationToken)) return false;
        var folder = dispatcher.RunFolder(runId);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        return true;
    }

    public async Task<ComfyRunInfo?> GetAsync(string runId, CancellationToken cancellationToken) =>
        await store.GetAsync(runId, cancellationToken) is { } run ? Info(run) : null;

    public async Task<IReadOnlyList<ComfyRunInfo>> ListAsync(IReadOnlyCollection<string> states, int limit, CancellationToken cancellationToken)
    {
        var result = new List<ComfyRunInfo>();
        foreach (var name in states)
        {
            if (RunStates.Parse(name) is not { } state) continue;
            var page = await store.ListAsync(state, 0, limit, cancellationToken);
            result.AddRange(page.Runs.Select(Info));
        }

        return result.OrderBy(r => r.Submitted).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit).ToList();
    }

    public async IAsyncEnumerable<RunEvent> WatchAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (dispatcher.Feed(runId) is { } feed)
            {
                await foreach (var item in feed.Listen().ReadAllAsync(cancellationToken)) yield return item;
                yield break;
            }

            var run = await store.GetAsync(runId, cancellationToken);
            if (run is null || run.Status.IsFinal()) yield break;
            await Task.Delay(50, cancellationToken);
        }
    }

    public string RunFolder(string runId) => dispatcher.RunFolder(runId);

    private static ComfyRunInfo Info(RunRecord run)
    {
        var outputs = string.IsNullOrEmpty(run.OutputsJson) ? [] : (JsonNode.Parse(run.OutputsJson) as JsonArray ?? []).Select(o => o!.GetValue<string>()).ToList();
        return new ComfyRunInfo(run.Id, run.Status.Name(), run.Submitted, run.Started, run.Finished, run.Error, outputs);
    }
}
