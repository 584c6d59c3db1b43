namespace FlowDiffusion.Cluster.Routing;

/// <summary>What a run needs of the worker that executes it, read from its workflow.</summary>
/// <param name="Model">The model path its <c>model.load</c> node loads (as written in the workflow), or null when it loads none.</param>
/// <param name="NodeTypes">Its node types as <c>id@version</c>.</param>
/// <param name="Plugins">The plugins those node types come from.</param>
/// <param name="MemoryBytes">The run's peak memory estimate.</param>
[GenerateSerializer, Immutable]
public sealed record RunRequirements(
    [property: Id(0)] string? Model,
    [property: Id(1)] string[] NodeTypes,
    [property: Id(2)] string[] Plugins,
    [property: Id(3)] long MemoryBytes);
