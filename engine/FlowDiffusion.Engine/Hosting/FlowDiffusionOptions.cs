namespace FlowDiffusion.Engine.Hosting;

/// <summary>
/// Host settings, bound from the <c>FlowDiffusion</c> section of appsettings.json, <c>FLOWDIFFUSION_</c> environment
/// variables (<c>FLOWDIFFUSION_FlowDiffusion__OutputFolder</c>) and the command line. Relative paths are resolved
/// against the current directory.
/// </summary>
public sealed class FlowDiffusionOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "FlowDiffusion";

    /// <summary>Folders searched for plugin folders (each with a plugin.json).</summary>
    public List<string> PluginFolders { get; set; } = ["plugins"];

    /// <summary>
    /// Whether long-running hosts (the server, the editor) watch the plugin folders and reload a plugin folder that is
    /// added, rebuilt or removed, without a restart.
    /// </summary>
    public bool WatchPlugins { get; set; } = true;

    /// <summary>
    /// How long plugin files must stay unchanged before a watching host reloads, in seconds: a build writes many files,
    /// and this turns them into one reload.
    /// </summary>
    public double PluginReloadDelaySeconds { get; set; } = 2;

    /// <summary>Where model folders live (the editor's model picker lists it).</summary>
    public string ModelsFolder { get; set; } = "models";

    /// <summary>Where saved workflows live (run by name through the API).</summary>
    public string WorkflowsFolder { get; set; } = "workflows";

    /// <summary>Where runs write their files; each run gets a subfolder in the server, the CLI writes here directly.</summary>
    public string OutputFolder { get; set; } = "outputs";

    /// <summary>Where the server keeps its run database and uploads.</summary>
    public string DataFolder { get; set; } = "data";

    /// <summary>How many nodes of one run may execute at once, unless the run's <see cref="Execution.RunOptions.MaxConcurrency"/> says otherwise.</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>How many node results the output cache keeps (least recently used evicted first).</summary>
    public int CacheCapacity { get; set; } = 1024;

    /// <summary>How long a cancelled node may take to stop before it is abandoned, in seconds.</summary>
    public double CancellationGraceSeconds { get; set; } = 5;
}
