namespace FlowDiffusion.Cluster.Routing;

/// <summary>
/// What one worker slot (a GPU, or a configured CPU slot) offers when it asks for a run: sent with every claim, so the
/// dispatcher always routes on the worker's state of that moment.
/// </summary>
/// <param name="Worker">The slot's id: its silo address, worker name and slot number (the lease owner of what it claims).</param>
/// <param name="Models">The model paths present on the worker, as workflows name them (<c>models/tiny-sd</c>).</param>
/// <param name="LoadedModel">The model the slot has loaded now (its last run's), or null.</param>
/// <param name="Plugins">Plugin name → version, of the plugins the worker loaded.</param>
/// <param name="NodeTypes">The node types the worker can run, as <c>id@version</c>.</param>
/// <param name="FreeMemoryBytes">Memory the slot may spend on a run.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerCapabilities(
    [property: Id(0)] string Worker,
    [property: Id(1)] string[] Models,
    [property: Id(2)] string? LoadedModel,
    [property: Id(3)] Dictionary<string, string> Plugins,
    [property: Id(4)] string[] NodeTypes,
    [property: Id(5)] long FreeMemoryBytes);
