using FlowDiffusion.Engine.Validation;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>A parsed workflow (null when the YAML could not be read at all) and everything found wrong with it.</summary>
public sealed record WorkflowLoadResult(Workflow? Workflow, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error.</summary>
    public bool HasErrors => Diagnostics.Any(d => d.IsError);
}
