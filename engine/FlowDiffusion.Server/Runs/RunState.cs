namespace FlowDiffusion.Server.Runs;

/// <summary>Where a run stands in the queue's life cycle; stored and served as its lower-case name.</summary>
public enum RunState
{
    /// <summary>Accepted, waiting for a slot.</summary>
    Queued,

    /// <summary>Executing now.</summary>
    Running,

    /// <summary>Every needed node produced its outputs.</summary>
    Completed,

    /// <summary>Invalid at execution time, or a node failed.</summary>
    Failed,

    /// <summary>Cancelled by a client before it finished.</summary>
    Cancelled,

    /// <summary>In flight during a crash a second time; not retried again.</summary>
    Interrupted,
}
