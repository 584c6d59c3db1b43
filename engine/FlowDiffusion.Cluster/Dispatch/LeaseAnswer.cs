namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>What a heartbeat told the worker (the cluster's copy of <see cref="Server.Runs.LeaseRenewal"/>).</summary>
[GenerateSerializer]
public enum LeaseAnswer
{
    /// <summary>Go on.</summary>
    Held,

    /// <summary>A client cancelled the run: stop it and complete it as cancelled.</summary>
    CancelRequested,

    /// <summary>The attempt is no longer the run's current one: stop; its result will be refused.</summary>
    Lost,
}
