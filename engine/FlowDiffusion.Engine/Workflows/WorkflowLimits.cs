namespace FlowDiffusion.Engine.Workflows;

/// <summary>Bounds on what a workflow file may be, so a hostile file cannot exhaust the host.</summary>
public sealed record WorkflowLimits
{
    /// <summary>The largest accepted file, in bytes (default 1 MiB).</summary>
    public int MaxBytes { get; init; } = 1 << 20;

    /// <summary>The most nodes a workflow may have.</summary>
    public int MaxNodes { get; init; } = 10_000;

    /// <summary>
    /// How deeply mappings and sequences may nest (default 64, as System.Text.Json). Checked before parsing: a deeper
    /// document would cost the parser quadratic time and overflow its recursion.
    /// </summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>The defaults.</summary>
    public static WorkflowLimits Default { get; } = new();
}
