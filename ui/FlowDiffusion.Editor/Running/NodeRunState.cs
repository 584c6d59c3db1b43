namespace FlowDiffusion.Editor.Running;

/// <summary>What a node is doing in the current run.</summary>
public enum NodeRunState
{
    /// <summary>Not part of a run yet.</summary>
    Idle,

    /// <summary>Waiting for its inputs.</summary>
    Queued,

    /// <summary>Executing.</summary>
    Running,

    /// <summary>Its output came from the cache.</summary>
    Cached,

    /// <summary>Finished.</summary>
    Done,

    /// <summary>Failed.</summary>
    Failed,
}
