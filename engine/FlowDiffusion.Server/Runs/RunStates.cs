namespace FlowDiffusion.Server.Runs;

/// <summary>The wire names of <see cref="RunState"/> and which states are final.</summary>
public static class RunStates
{
    /// <summary>The lower-case wire name.</summary>
    public static string Name(this RunState state) => state.ToString().ToLowerInvariant();

    /// <summary>Parses a wire name; null when unknown.</summary>
    public static RunState? Parse(string? name) =>
        Enum.TryParse<RunState>(name, ignoreCase: true, out var state) && !int.TryParse(name, out _) ? state : null;

    /// <summary>Whether the run will not change any more.</summary>
    public static bool IsFinal(this RunState state) => state is not (RunState.Queued or RunState.Running);
}
