namespace FlowDiffusion.Cluster.Routing;

/// <summary>
/// Which queued run a worker slot gets when it asks: pure, so every rule is unit-tested.
/// <list type="number">
/// <item>Capability filter: the slot must have the run's model, its node types (same versions), its plugins and the memory it needs.</item>
/// <item>Priority first: a higher-priority run the slot can serve goes before any lower one.</item>
/// <item>Affinity: among equal priorities, a run on the model the slot has loaded now (oldest first), then a run that loads no model.</item>
/// <item>Otherwise load the model with the most waiting demand, not counting runs that other idle slots with that model
/// loaded will take at their next claim.</item>
/// <item>Never idle while a servable run waits: the only run left unclaimed is one reserved for an idle slot that has its model loaded.</item>
/// </list>
/// </summary>
public static class ClaimPolicy
{
    /// <summary>The run <paramref name="claimant"/> should execute now, given the queue and the other slots idle at this moment.</summary>
    /// <param name="claimant">The slot asking.</param>
    /// <param name="queue">The queued runs.</param>
    /// <param name="otherIdle">The other slots idle now.</param>
    /// <param name="affinity">False for the round-robin baseline (<see cref="Hosting.RoutingModes.RoundRobin"/>): the oldest run the slot can serve, whatever it has loaded.</param>
    public static ClaimDecision Choose(WorkerCapabilities claimant, IReadOnlyList<WaitingRun> queue, IReadOnlyList<WorkerCapabilities> otherIdle, bool affinity = true)
    {
        var servable = queue.Where(r => Refusal(r.Needs, claimant) is null).ToList();
        if (servable.Count == 0)
            return new ClaimDecision(null, queue.Count == 0 ? "the queue is empty" : $"none of the {queue.Count} queued run(s) fits this worker");
        foreach (var level in servable.GroupBy(r => r.Priority).OrderByDescending(g => g.Key))
        {
            var runs = level.OrderBy(r => r.Order).ToList();
            if (!affinity) return new ClaimDecision(runs[0], "round-robin: the oldest run");
            if (claimant.LoadedModel is { } loaded && runs.FirstOrDefault(r => SameModel(r.Needs.Model, loaded)) is { } warm)
                return new ClaimDecision(warm, $"affinity: {loaded} is loaded");
            if (runs.FirstOrDefault(r => r.Needs.Model is null) is { } modelless)
                return new ClaimDecision(modelless, "needs no model");
            var best = runs
                .GroupBy(r => NormalizeModel(r.Needs.Model!))
                .Select(g => (Model: g.Key, Oldest: g.First(), Unreserved: g.Count() - otherIdle.Count(w => SameModel(w.LoadedModel, g.Key) && Refusal(g.First().Needs, w) is null)))
                .Where(g => g.Unreserved > 0)
                .OrderByDescending(g => g.Unreserved)
                .ThenBy(g => g.Oldest.Order)
                .FirstOrDefault();
            if (best.Oldest is not null)
                return new ClaimDecision(best.Oldest, $"loads {best.Model}: the most waiting demand ({best.Unreserved} run(s) no idle worker has loaded)");
        }
        return new ClaimDecision(null, "every run this worker could serve is left to an idle worker that has its model loaded");
    }

    /// <summary>Why <paramref name="worker"/> cannot execute a run needing <paramref name="needs"/>, or null when it can.</summary>
    public static string? Refusal(RunRequirements needs, WorkerCapabilities worker)
    {
        if (needs.Model is { } model && !worker.Models.Any(m => SameModel(m, model))) return $"no {model}";
        if (needs.Plugins.FirstOrDefault(p => !worker.Plugins.ContainsKey(p)) is { } plugin) return $"no plugin {plugin}";
        if (needs.NodeTypes.FirstOrDefault(t => !worker.NodeTypes.Contains(t, StringComparer.Ordinal)) is { } type) return $"no node type {type}";
        if (needs.MemoryBytes > worker.FreeMemoryBytes) return $"{Gib(worker.FreeMemoryBytes)} free, the run needs {Gib(needs.MemoryBytes)}";
        return null;
    }

    /// <summary>
    /// Why a run still waits, for the user: the capability no connected worker has, or how many workers are busy.
    /// </summary>
    /// <param name="run">The waiting run.</param>
    /// <param name="workers">Every connected worker slot, idle or busy.</param>
    /// <param name="busy">How many of them are executing a run now.</param>
    public static string WhyWaiting(WaitingRun run, IReadOnlyList<WorkerCapabilities> workers, int busy)
    {
        if (workers.Count == 0) return "no worker is connected";
        if (workers.Any(w => Refusal(run.Needs, w) is null))
            return busy > 0 ? $"waiting for a free worker ({busy} of {workers.Count} busy)" : "waiting to be claimed";
        // Name the first requirement nobody meets, in the order Refusal checks them.
        if (run.Needs.Model is { } model && !workers.Any(w => w.Models.Any(m => SameModel(m, model)))) return $"no worker has {model}";
        if (run.Needs.Plugins.FirstOrDefault(p => !workers.Any(w => w.Plugins.ContainsKey(p))) is { } plugin) return $"no worker has plugin {plugin}";
        if (run.Needs.NodeTypes.FirstOrDefault(t => !workers.Any(w => w.NodeTypes.Contains(t, StringComparer.Ordinal))) is { } type)
            return $"no worker has node type {type}";
        return "no worker can serve it: " + string.Join("; ", workers.Select(w => $"{w.Worker}: {Refusal(run.Needs, w)}"));
    }

    /// <summary>One spelling of a model path: forward slashes, no leading <c>./</c>, no trailing slash.</summary>
    public static string NormalizeModel(string path)
    {
        var normal = path.Replace('\\', '/').TrimEnd('/');
        while (normal.StartsWith("./", StringComparison.Ordinal)) normal = normal[2..];
        return normal;
    }

    private static bool SameModel(string? a, string? b) =>
        a is not null && b is not null && string.Equals(NormalizeModel(a), NormalizeModel(b), StringComparison.Ordinal);

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):0.##} GiB";
}
