namespace FlowDiffusion.Engine.Execution;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>Every needed node produced its outputs.</summary>
    Completed,

    /// <summary>A node failed.</summary>
    Failed,

    /// <summary>The run was cancelled.</summary>
    Cancelled,
}
