namespace FlowDiffusion.Server.Runs;

/// <summary>What a heartbeat learned about a lease.</summary>
public enum LeaseRenewal
{
    /// <summary>Still held, now until the new expiry.</summary>
    Held,

    /// <summary>Still held, and a client asked to cancel the run: stop it and finish it as cancelled.</summary>
    CancelRequested,

    /// <summary>No longer held (re-claimed after expiry, finished, deleted): stop; any result will be refused.</summary>
    Lost,
}
