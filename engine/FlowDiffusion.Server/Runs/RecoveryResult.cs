namespace FlowDiffusion.Server.Runs;

/// <summary>What crash recovery did with the runs found in flight.</summary>
public sealed record RecoveryResult(int Requeued, int Interrupted);
