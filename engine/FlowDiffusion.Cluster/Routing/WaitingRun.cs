namespace FlowDiffusion.Cluster.Routing;

/// <summary>A queued run as the claim policy sees it.</summary>
/// <param name="Id">The run id.</param>
/// <param name="Priority">Higher runs first.</param>
/// <param name="Order">Submission order (lower first) among equal priorities.</param>
/// <param name="Needs">What it needs of a worker.</param>
public sealed record WaitingRun(string Id, int Priority, long Order, RunRequirements Needs);
