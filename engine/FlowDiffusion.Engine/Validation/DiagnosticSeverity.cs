namespace FlowDiffusion.Engine.Validation;

/// <summary>How bad a finding is: errors stop a run, warnings do not.</summary>
public enum DiagnosticSeverity
{
    /// <summary>The workflow cannot run.</summary>
    Error,

    /// <summary>Worth a look; the workflow still runs.</summary>
    Warning,
}
