using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Comfy.Backend;

/// <summary>
/// <see cref="IComfyBackend"/> over the server's run backend (<see cref="IRunBackend"/>: queue, event bus, output store).
/// The only file of the layer that knows those types.
/// </summary>
internal sealed class ServerComfyBackend(FlowDiffusionEngine engine, IRunBackend runs) : IComfyBackend
{
    // ComfyUI's /view and /history name files by folder, so the layer needs the outputs on a local disk.
    private readonly LocalOutputStore outputs = runs.Outputs as LocalOutputStore
        ?? throw new InvalidOperationException("The ComfyUI layer serves outputs from a local folder; the configured output store is not one.");

    // Subscriptions made at submission, until the layer starts watching the run.
    private readonly ConcurrentDictionary<string, IAsyncEnumerable<RunMessage>> watches = new(StringComparer.Ordinal);

    public string OutputFolder => outputs.Root;

    public async Task<string> SubmitAsync(string yaml, CancellationToken cancellationToken)
    {
        var validation = engine.Parse(yaml, "comfyui.yaml", InputValues.FromJson("{}"));
        if (!validation.IsValid)
            throw new ComfyBackendException(validation.Diagnostics.Where(d => d.IsError).Select(d => (d.NodeId, d.Message)).ToList());
        // Subscribed before a worker can start it: a prompt whose nodes all come from the cache ends in milliseconds, and
        // a watcher that joined after that would never see SaveImageWebsocket's frames.
        var (run, _, messages) = await runs.SubmitSubscribedAsync(new RunSubmission(yaml, "{}", "comfyui"), cancellationToken);
        watches[run.Id] = messages;
        return run.Id;
    }

    public async Task<bool> CancelAsync(string runId, CancellationToken cancellationToken) =>
        await runs.CancelAsync(runId, cancellationToken) != CancelOutcome.NotActive;

    public Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken) => runs.DeleteAsync(runId, cancellationToken);

    public async Task<ComfyRunInfo?> GetAsync(string runId, CancellationToken cancellationToken) =>
        await runs.GetAsync(runId, cancellationToken) is { } run ? Info(run) : null;

    public async Task<IReadOnlyList<ComfyRunInfo>> ListAsync(IReadOnlyCollection<string> states, int limit, CancellationToken cancellationToken)
    {
        var result = new List<ComfyRunInfo>();
        foreach (var name in states)
        {
            if (RunStates.Parse(name) is not { } state) continue;
            var page = await runs.ListAsync(state, 0, limit, cancellationToken);
            result.AddRange(page.Runs.Select(Info));
        }

        return result.OrderBy(r => r.Submitted).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit).ToList();
    }

    public async IAsyncEnumerable<RunEvent> WatchAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The subscription SubmitAsync made is taken once; a second watcher (or a run queued elsewhere) subscribes now.
        var messages = watches.TryRemove(runId, out var subscribed) ? subscribed : runs.SubscribeAsync(runId, cancellationToken);
        // The bus gives the run's state first, then live events, and ends with run_ended; the layer reads the final record
        // itself. A watcher that subscribed after a worker started the run gets what it missed from that state, as the
        // events it stands for (the bus sheds only progress/previews/metrics of a slow reader, so node events after the
        // state always arrive).
        await foreach (var message in messages.WithCancellation(cancellationToken))
        {
            if (message.Kind == RunMessage.EndedKind) yield break;
            if (message.State is { Status: RunState.Running } state)
                foreach (var missed in Replay(runId, message.Time, state)) yield return missed;
            if (message.Event is { } item) yield return item;
        }
    }

    private static IEnumerable<RunEvent> Replay(string runId, DateTimeOffset time, RunSnapshot state)
    {
        if (state.Nodes.Count == 0) yield break;
        yield return new RunStarted(runId, time, state.Nodes.Keys.ToList());
        foreach (var (node, snapshot) in state.Nodes)
        {
            switch (snapshot.State)
            {
                case "cached":
                    yield return new NodeCached(runId, time, node, "");
                    break;
                case "finished":
                    yield return new NodeStarted(runId, time, node, "");
                    yield return new NodeFinished(runId, time, node, "", TimeSpan.FromMilliseconds(snapshot.DurationMs ?? 0));
                    break;
                case "running":
                    yield return new NodeStarted(runId, time, node, "");
                    break;
            }
        }

        foreach (var output in state.Outputs) yield return output;
    }

    public string RunFolder(string runId) => outputs.FolderOf(runId);

    private static ComfyRunInfo Info(RunRecord run)
    {
        var list = string.IsNullOrEmpty(run.OutputsJson) ? [] : (JsonNode.Parse(run.OutputsJson) as JsonArray ?? []).Select(o => o!.GetValue<string>()).ToList();
        return new ComfyRunInfo(run.Id, run.Status.Name(), run.Submitted, run.Started, run.Finished, run.Error, list);
    }
}
