using System.Collections.Concurrent;
using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Routing;
using FlowDiffusion.Cluster.Worker;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>
/// A worker's GPUs for routing tests: it has the models it is given, "executes" a run as <paramref name="steps"/> steps
/// of <paramref name="stepDelay"/> (publishing real progress events), writes one output file naming the run and
/// attempt, and records what each slot did, so tests see affinity, concurrency and cancellation from the worker's side.
/// </summary>
internal sealed class FakeGpu(string name, string[] models, int steps, TimeSpan stepDelay, Journal journal) : IRunExecutor
{
    public string Name => name;

    public WorkerCapabilities Describe(string worker, string? loadedModel, int slots)
    {
        journal.Asked(worker);
        return new(worker, models, loadedModel, journal.Plugins.ToDictionary(p => p, _ => "1.0.0"), journal.NodeTypes, 8L << 30);
    }

    public async Task<ExecutedRun> ExecuteAsync(ClaimedRun run, string folder, Action<WireEvent> publish, CancellationToken cancellationToken)
    {
        var entry = journal.Begin(name, run);
        try
        {
            publish(new WireEvent("run_started", DateTimeOffset.UtcNow, Nodes: ["sample"]));
            for (var step = 1; step <= steps; step++)
            {
                try
                {
                    await Task.Delay(stepDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    entry.CancelledAt = DateTimeOffset.UtcNow;
                    return new ExecutedRun("cancelled", "[]", [], null);
                }
                if (journal.IsKilled(name))
                {
                    // A killed process says nothing more: its threads survive an in-process silo kill, so they stop here.
                    await Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None);
                    return new ExecutedRun("cancelled", "[]", [], null);
                }

                publish(new WireEvent("progress", DateTimeOffset.UtcNow, "sample", Number: step / (double)steps, Step: step, TotalSteps: steps));
            }
            var file = Path.Combine(folder, "result.txt");
            await File.WriteAllTextAsync(file, $"{run.Ticket.RunId} attempt {run.Ticket.Attempt} on {run.Ticket.Owner}", CancellationToken.None);
            return new ExecutedRun("completed", "[]", [file], null);
        }
        finally
        {
            journal.End(entry);
        }
    }
}

/// <summary>What every fake GPU of a test cluster did.</summary>
internal sealed class Journal
{
    private readonly object _gate = new();
    private readonly Dictionary<string, int> _busy = new(StringComparer.Ordinal);

    public Journal(string[] nodeTypes, string[] plugins) => (NodeTypes, Plugins) = (nodeTypes, plugins);

    /// <summary>The node types every fake worker offers (the coordinator's, so capability filters pass on them).</summary>
    public string[] NodeTypes { get; }

    /// <summary>The plugins every fake worker offers.</summary>
    public string[] Plugins { get; }

    public ConcurrentQueue<Execution> Executions { get; } = new();

    /// <summary>The slots that have asked for a run at least once.</summary>
    public ConcurrentDictionary<string, bool> Claimants { get; } = new(StringComparer.Ordinal);

    public void Asked(string slot) => Claimants.TryAdd(slot, true);

    private readonly ConcurrentDictionary<string, bool> _killed = new(StringComparer.Ordinal);

    /// <summary>Marks a worker's fake GPU dead, as a killed process would be: it stops publishing and never finishes.</summary>
    public void Kill(string worker) => _killed.TryAdd(worker, true);

    public bool IsKilled(string worker) => _killed.ContainsKey(worker);

    /// <summary>The most runs one slot executed at once (1 when the one-run-per-slot rule holds).</summary>
    public int MaxPerSlot { get; private set; }

    /// <summary>The most runs executing at once over the cluster.</summary>
    public int MaxConcurrent { get; private set; }

    public Execution Begin(string worker, ClaimedRun run)
    {
        var entry = new Execution(worker, run.Ticket.Owner, run.Ticket.RunId, run.Ticket.Attempt, run.Model, DateTimeOffset.UtcNow);
        lock (_gate)
        {
            var slot = _busy[run.Ticket.Owner] = _busy.GetValueOrDefault(run.Ticket.Owner) + 1;
            MaxPerSlot = Math.Max(MaxPerSlot, slot);
            MaxConcurrent = Math.Max(MaxConcurrent, _busy.Values.Sum());
        }
        Executions.Enqueue(entry);
        return entry;
    }

    public void End(Execution entry)
    {
        lock (_gate) _busy[entry.Slot]--;
    }
}

/// <summary>One execution of a run on a fake GPU.</summary>
internal sealed record Execution(string Worker, string Slot, string RunId, int Attempt, string? Model, DateTimeOffset Started)
{
    public DateTimeOffset? CancelledAt { get; set; }
}
