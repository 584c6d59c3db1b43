namespace FlowDiffusion.Cli;

/// <summary>The CLI's documented exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The workflow is invalid or the run failed (or was cancelled).</summary>
    public const int Failed = 1;

    /// <summary>The command line itself is wrong.</summary>
    public const int Usage = 2;
}
