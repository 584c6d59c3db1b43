namespace FlowDiffusion.Engine.Hosting;

/// <summary>
/// The folder a FlowDiffusion installation lives in: the one holding <c>plugins/</c> beside <c>workflows/</c> or
/// <c>models/</c> (the repository root, or the folder a .NET tool install carries). Hosts resolve their relative
/// folders against it, so the editor and the CLI find the same plugins, models and workflows wherever they start.
/// </summary>
/// <param name="Folder">The home, absolute.</param>
/// <param name="FoundBy">How it was found, for messages: the variable, the folder searched from.</param>
public sealed record InstallationHome(string Folder, string FoundBy)
{
    /// <summary>The environment variable that names the home explicitly.</summary>
    public const string Variable = "FLOWDIFFUSION_HOME";

    /// <summary>The configuration key that names the home explicitly (<c>--config FlowDiffusion:Home=DIR</c>).</summary>
    public const string ConfigurationKey = FlowDiffusionOptions.Section + ":Home";

    /// <summary>
    /// Finds the home: <paramref name="configured"/> when set (it must exist), else the nearest folder at or above
    /// <paramref name="currentDirectory"/> that looks like a home, else the nearest at or above
    /// <paramref name="programDirectory"/> (the repository for a build, the package for an installed tool); null when none.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The configured home does not exist.</exception>
    public static InstallationHome? Find(string? configured, string currentDirectory, string programDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var full = Path.GetFullPath(configured, currentDirectory);
            if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{Variable} (or {ConfigurationKey}) names {full}, which does not exist.");
            return new InstallationHome(full, $"set by {Variable} or {ConfigurationKey}");
        }
        return Above(currentDirectory) is { } fromHere ? new InstallationHome(fromHere, $"found from the current folder {Path.GetFullPath(currentDirectory)}")
            : Above(programDirectory) is { } fromProgram ? new InstallationHome(fromProgram, $"found from the program's folder {Path.GetFullPath(programDirectory)}")
            : null;
    }

    /// <summary>Finds the home from the process's environment: <see cref="Variable"/>, then <paramref name="configured"/>, the current folder, the program's folder.</summary>
    public static InstallationHome? Find(string? configured = null) =>
        Find(Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } variable ? variable : configured, Environment.CurrentDirectory, AppContext.BaseDirectory);

    /// <summary>Whether <paramref name="folder"/> holds <c>plugins/</c> and <c>workflows/</c> or <c>models/</c>.</summary>
    public static bool IsHome(string folder) =>
        Directory.Exists(Path.Combine(folder, "plugins")) &&
        (Directory.Exists(Path.Combine(folder, "workflows")) || Directory.Exists(Path.Combine(folder, "models")));

    /// <summary>Resolves the relative plugin, models and workflows folders of <paramref name="options"/> against the home.</summary>
    public void Apply(FlowDiffusionOptions options)
    {
        options.PluginFolders = [.. options.PluginFolders.Select(f => Path.GetFullPath(f, Folder))];
        options.ModelsFolder = Path.GetFullPath(options.ModelsFolder, Folder);
        options.WorkflowsFolder = Path.GetFullPath(options.WorkflowsFolder, Folder);
    }

    /// <summary>
    /// The warning a host shows when no plugin loaded, naming the folders searched and what to do, or null when at
    /// least one plugin loaded.
    /// </summary>
    public static string? NoPluginsWarning(int loadedPlugins, IEnumerable<string> pluginFolders, InstallationHome? home) =>
        loadedPlugins > 0 ? null :
        $"No plugin loaded, so there are no node types and no workflow can run. Searched: {string.Join(", ", pluginFolders.Select(f => Path.GetFullPath(f)))}. " +
        (home is null
            ? $"No FlowDiffusion home (a folder with plugins/ and workflows/ or models/) was found from {Environment.CurrentDirectory}: "
            : $"Home: {home.Folder} ({home.FoundBy}). ") +
        $"Build the node packs (dotnet build from the repository root), start from the installation folder, set {Variable}, or pass --plugins DIR.";

    private static string? Above(string start)
    {
        for (var folder = new DirectoryInfo(Path.GetFullPath(start)); folder is not null; folder = folder.Parent)
            if (IsHome(folder.FullName)) return folder.FullName;
        return null;
    }
}
