using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Validation;

/// <summary>Every finding about a workflow, and the execution plan when there are no errors.</summary>
public sealed record ValidationResult(IReadOnlyList<Diagnostic> Diagnostics, ExecutionPlan? Plan)
{
    /// <summary>Whether the workflow can run.</summary>
    public bool IsValid => Plan is not null;

    /// <summary>The errors only.</summary>
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);
}
