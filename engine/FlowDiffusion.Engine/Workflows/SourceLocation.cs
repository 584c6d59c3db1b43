namespace FlowDiffusion.Engine.Workflows;

/// <summary>A 1-based line and column in a workflow file.</summary>
public readonly record struct SourceLocation(int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{Line}:{Column}";
}
