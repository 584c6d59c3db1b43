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
    /// Whether plugins load into collectible contexts, so that the old build of a rebuilt or removed plugin is unloaded once
    /// no run uses it. Off by default: on .NET 10 (10.0.12 measured), processes running plugin code from collectible
    /// contexts crashed natively now and then under load (plugins/README.md, "Unloading old builds"); with it off, an old
    /// build stays in memory until the host restarts.
    /// </summary>
    public bool UnloadPluginBuilds { get; set; }

    /// <summary>
    /// How long plugin files must stay unchanged before a watching host reloads, in seconds: a build writes many files,
    /// and this turns them into one reload.
    /// </summary>
    public double PluginReloadDelaySeconds { get; set; } = 2;

    /// <summary>
    /// The folder relative paths inside workflows are taken against when a run is planned (the model the memory estimate
    /// reads); empty means the current folder. Hosts whose runs work elsewhere (the server's
    /// <c>FlowDiffusion:Server:WorkingFolder</c>) set it to the same folder.
    /// </summary>
    public string WorkingFolder { get; set; } = "";

    /// <summary>Where model folders live (the editor's model picker lists it).</summary>
    public string ModelsFolder { get; set; } = "models";

    /// <summary>Where saved workflows live (run by name through the API).</summary>
    public string WorkflowsFolder { get; set; } = "workflows";

    /// <summary>Where runs write their files; each run gets a subfolder in the server, the CLI writes here directly.</summary>
    public string OutputFolder { get; set; } = "outputs";

    /// <summary>Where the server keeps its run database and uploads.</summary>
    public string DataFolder { get; set; } = "data";

    /// <summary>
    /// The folders server and editor runs may read input files (images, masks, models) from, after symbolic links are
    /// followed. Empty (the default) means the workflows folder (with its assets), the upload folder and the models
    /// folder. The CLI reads any path its user names.
    /// </summary>
    public List<string> InputFolders { get; set; } = [];

    /// <summary>The most pixels an input image may declare in its header (default 4096² = 16,777,216).</summary>
    public long MaxImagePixels { get; set; } = Sdk.InputLimits.Default.MaxImagePixels;

    /// <summary>The largest width or height an input image may declare (default 16384).</summary>
    public long MaxImageDimension { get; set; } = Sdk.InputLimits.Default.MaxImageDimension;

    /// <summary>The largest input file (image, mask) a node may read, in bytes (default 64 MiB).</summary>
    public long MaxInputFileBytes { get; set; } = Sdk.InputLimits.Default.MaxFileBytes;

    /// <summary>How long reading one input file may take, in seconds (default 30).</summary>
    public double InputReadTimeoutSeconds { get; set; } = Sdk.InputLimits.Default.ReadTimeout.TotalSeconds;

    /// <summary>
    /// How long converting a .safetensors checkpoint, VAE or ControlNet into cached ONNX graphs may take, in seconds
    /// (default 1800). A conversion past it stops, caches nothing and fails its run; cancelling the run stops it too.
    /// </summary>
    public double ConversionTimeoutSeconds { get; set; } = Sdk.InputLimits.Default.MaxConversionTime.TotalSeconds;

    /// <summary>The longest prompt, in characters (default 20,000).</summary>
    public int MaxPromptCharacters { get; set; } = Sdk.InputLimits.Default.MaxPromptCharacters;

    /// <summary>
    /// The most memory one run may be estimated to need before it starts, in bytes (see <c>RunMemoryEstimate</c>); larger
    /// runs are refused with the estimate. 0 (the default) means <see cref="DefaultMaxRunMemory"/> of the memory available
    /// to this process.
    /// </summary>
    public long MaxRunMemory { get; set; }

    /// <summary>The run memory limit in force: <see cref="MaxRunMemory"/>, or <see cref="DefaultMaxRunMemory"/> when it is 0.</summary>
    public long EffectiveMaxRunMemory => MaxRunMemory > 0 ? MaxRunMemory : DefaultMaxRunMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>
    /// The default run memory limit on a machine with <paramref name="availableBytes"/>: three quarters of it. The
    /// estimate counts the model's weights, so the quarter left is for the host, the output cache and everything else.
    /// </summary>
    public static long DefaultMaxRunMemory(long availableBytes) => availableBytes / 4 * 3;

    /// <summary>
    /// The most bytes the output cache keeps (images, latents, conditionings; least recently used evicted first). 0 (the
    /// default) means an eighth of the memory available to this process.
    /// </summary>
    public long CacheMaxBytes { get; set; }

    /// <summary>The limits above, as nodes see them.</summary>
    public Sdk.InputLimits InputLimits => new()
    {
        MaxImagePixels = MaxImagePixels,
        MaxImageDimension = MaxImageDimension,
        MaxFileBytes = MaxInputFileBytes,
        ReadTimeout = TimeSpan.FromSeconds(InputReadTimeoutSeconds),
        MaxPromptCharacters = MaxPromptCharacters,
        MaxConversionTime = TimeSpan.FromSeconds(ConversionTimeoutSeconds),
    };

    /// <summary>The input folders in force: <see cref="InputFolders"/>, or the defaults when it is empty.</summary>
    public IReadOnlyList<string> EffectiveInputFolders => InputFolders.Count > 0
        ? InputFolders
        : [WorkflowsFolder, Path.Combine(DataFolder, "uploads"), ModelsFolder];

    /// <summary>How many nodes of one run may execute at once, unless the run's <see cref="Execution.RunOptions.MaxConcurrency"/> says otherwise.</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>How many node results the output cache keeps (least recently used evicted first).</summary>
    public int CacheCapacity { get; set; } = 1024;

    /// <summary>How long a cancelled node may take to stop before it is abandoned, in seconds.</summary>
    public double CancellationGraceSeconds { get; set; } = 5;
}
