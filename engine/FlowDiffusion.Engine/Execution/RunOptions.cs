namespace FlowDiffusion.Engine.Execution;

/// <summary>How one run executes.</summary>
public sealed record RunOptions
{
    /// <summary>The run id (events, output folder); a new one when null.</summary>
    public string? RunId { get; init; }

    /// <summary>
    /// The nodes whose outputs are wanted; only they and what they need execute. When empty, the output nodes
    /// (image.save and other sinks) are the targets, or every node when the workflow has none.
    /// </summary>
    public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>
    /// How many nodes may execute at once (independent branches); null: the host's configured limit
    /// (<c>FlowDiffusion:MaxConcurrency</c>), or <see cref="DefaultMaxConcurrency"/> for an executor used on its own.
    /// </summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>The limit when neither the run nor a host sets one.</summary>
    public const int DefaultMaxConcurrency = 4;

    /// <summary>Where nodes write files; created if missing.</summary>
    public string OutputDirectory { get; init; } = "outputs";

    /// <summary>The folder relative paths in parameters are resolved against.</summary>
    public string WorkingDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>
    /// The folders input files (images, masks, models) may be read from; null lets nodes read any path (the CLI, run by
    /// its user on their own files). <see cref="Hosting.FlowDiffusionEngine.Start"/> fills in the configured folders
    /// unless <see cref="AnyInputPath"/> is set.
    /// </summary>
    public InputFolders? InputFolders { get; init; }

    /// <summary>Whether the run may read input files anywhere (the CLI); servers and the editor leave this false.</summary>
    public bool AnyInputPath { get; init; }

    /// <summary>Bounds on what nodes read; the engine fills in the configured ones.</summary>
    public FlowDiffusion.Sdk.InputLimits? Limits { get; init; }

    /// <summary>How long a cancelled node may take to stop before the run abandons it.</summary>
    public TimeSpan CancellationGrace { get; init; } = TimeSpan.FromSeconds(5);
}
