namespace FlowDiffusion.Server.Runs;

/// <summary>What a cancel request did.</summary>
public enum CancelOutcome
{
    /// <summary>The run was queued and is now cancelled.</summary>
    Cancelled,

    /// <summary>The run is executing; its owner learns of the request at its next heartbeat (the embedded backend at once).</summary>
    Requested,

    /// <summary>The run is missing or already final.</summary>
    NotActive,
}
