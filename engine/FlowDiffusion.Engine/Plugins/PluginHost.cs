using System.Reflection;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Sdk;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// Loads node plugins: every folder with a <c>plugin.json</c>, each in its own load context with the SDK shared.
/// A broken plugin (bad manifest, corrupt or missing assembly, missing dependency, throwing node, duplicate id) is
/// reported and skipped; the rest load. Loading again reuses every folder whose files did not change and loads a
/// changed one into a new load context; with a <see cref="PluginShadowCopy"/> each load reads a private copy, so a
/// folder can be rebuilt in place while the node types already loaded from it keep working. With
/// <c>collectible</c>, load contexts are collectible where the plugin allows it (see <see cref="PluginNativeLibraries"/>):
/// a replaced or removed folder's old load is retired, and <see cref="Unload"/> lets the runtime collect it once nothing
/// uses it. Without it (the default, <see cref="Hosting.FlowDiffusionOptions.UnloadPluginBuilds"/>), every old load stays.
/// </summary>
/// <param name="logger">Where loads, reloads and errors are logged.</param>
/// <param name="shadowCopy">Copies plugin folders before loading, so they can be rebuilt in place.</param>
/// <param name="collectible">Load into collectible contexts where the plugin allows it.</param>
public sealed class PluginHost(ILogger<PluginHost>? logger = null, PluginShadowCopy? shadowCopy = null, bool collectible = false)
{
    // Shared with the host: the SDK and what its public types expose (the logging abstractions); McMaster shares each
    // one's references too. Everything else a plugin ships resolves from its own folder first, so its versions win.
    private static readonly Type[] SharedTypes = [typeof(INode), typeof(ILogger), typeof(ILoggerFactory)];
    private readonly ILogger _logger = logger ?? NullLogger<PluginHost>.Instance;
    private readonly Dictionary<string, FolderLoad> _loaded = new(StringComparer.Ordinal);
    private readonly List<RetiredPluginLoad> _retired = [];
    private readonly Lock _gate = new();

    /// <summary>The SDK version plugins are checked against.</summary>
    public static Version SdkVersion { get; } = typeof(INode).Assembly.GetName().Version ?? new Version(0, 0, 0);

    /// <summary>Finds and loads the plugins under <paramref name="roots"/>; folders unchanged since the last call are reused.</summary>
    /// <param name="roots">Folders holding plugin folders (or plugin folders themselves); missing ones are skipped.</param>
    public PluginSet Load(IEnumerable<string> roots)
    {
        lock (_gate)
        {
            var plugins = new List<LoadedPlugin>();
            var errors = new List<PluginLoadError>();
            var registered = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var folder in roots.SelectMany(PluginFolders).Distinct(StringComparer.Ordinal))
            {
                seen.Add(folder);
                var fingerprint = Fingerprint(folder);
                var fresh = false;
                if (!_loaded.TryGetValue(folder, out var load) || load.Fingerprint != fingerprint)
                {
                    if (load is not null) Retire(load);
                    _loaded[folder] = load = LoadFolder(folder, fingerprint);
                    fresh = true;
                }
                errors.AddRange(load.Errors);
                if (load.Manifest is not { } manifest) continue;
                var accepted = new List<NodeDescriptor>();
                foreach (var node in load.Nodes)
                {
                    if (registered.TryGetValue(node.Id, out var owner))
                    {
                        errors.Add(new PluginLoadError(manifest.Id, folder, $"node id '{node.Id}' is already registered by plugin '{owner}'; this plugin's node was skipped"));
                        continue;
                    }
                    registered[node.Id] = manifest.Id;
                    accepted.Add(node);
                }
                plugins.Add(new LoadedPlugin(manifest, folder, accepted, load.Native?.OwnNative, collectible));
                // A watching host reloads often; a folder it reuses is not news.
                _logger.Log(fresh ? LogLevel.Information : LogLevel.Debug, "Loaded plugin {Plugin} {Version} from {Folder}: {Count} nodes",
                    manifest.Id, manifest.Version, folder, accepted.Count);
            }
            foreach (var gone in _loaded.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                Retire(_loaded[gone]);
                _loaded.Remove(gone);
            }
            foreach (var error in errors) _logger.LogWarning("{Error}", error.ToString());
            return new PluginSet(plugins, errors, new NodeCatalog(plugins.SelectMany(p => p.Nodes)));
        }
    }

    /// <summary>The loads replaced or removed since the last call; unload them (<see cref="Unload"/>) once no run uses them.</summary>
    internal IReadOnlyList<RetiredPluginLoad> TakeRetired()
    {
        lock (_gate)
        {
            var retired = _retired.ToList();
            _retired.Clear();
            return retired;
        }
    }

    /// <summary>
    /// Unloads retired loads: a collectible one's context is unloaded and goes once nothing references its types; one
    /// that brings its own native library stays in memory until the host restarts, which is logged.
    /// </summary>
    internal void Unload(IEnumerable<RetiredPluginLoad> retired)
    {
        foreach (var load in retired)
        {
            if (load.Loader is null) continue;
            if (!collectible)
            {
                _logger.LogInformation("The previous build of plugin {Plugin} ({Folder}) stays loaded until the host restarts: unloading old builds is off (FlowDiffusion:UnloadPluginBuilds)",
                    load.Plugin, load.Folder);
                continue;
            }
            if (load.Native is { Collectible: false } native)
            {
                _logger.LogInformation("The previous build of plugin {Plugin} ({Folder}) stays loaded until the host restarts: it brings its own native library {Libraries}",
                    load.Plugin, load.Folder, string.Join(", ", native.OwnNative));
                continue;
            }
            load.Loader.Dispose();
            _logger.LogInformation("Unloaded the previous build of plugin {Plugin} ({Folder}); its memory is freed once nothing uses its types", load.Plugin, load.Folder);
        }
    }

    private void Retire(FolderLoad load)
    {
        if (load.Loader is not null) _retired.Add(new RetiredPluginLoad(load.Manifest?.Id ?? Path.GetFileName(load.Folder), load.Folder, load.Loader, load.Native));
    }

    private FolderLoad LoadFolder(string folder, string fingerprint)
    {
        var errors = new List<PluginLoadError>();
        var name = Path.GetFileName(folder);
        try
        {
            var manifest = PluginManifest.Read(Path.Combine(folder, PluginManifest.FileName));
            name = manifest.Id;
            var (nodes, loader, native) = LoadNodes(folder, manifest, errors, shadowCopy, collectible);
            if (collectible && !native.Collectible)
                _logger.LogInformation("Plugin {Plugin} brings its own native library {Libraries}: its load context cannot be unloaded, so after a rebuild its old build stays in memory until the host restarts",
                    manifest.Id, string.Join(", ", native.OwnNative));
            return new FolderLoad(folder, fingerprint, manifest, nodes, errors, loader, native);
        }
        catch (PluginLoadException e)
        {
            errors.Add(new PluginLoadError(name, folder, e.Message));
            return new FolderLoad(folder, fingerprint, null, [], errors, null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // A manifest or folder the file system refuses (bad characters, permissions, a vanished file) is the plugin's problem, not the host's.
            errors.Add(new PluginLoadError(name, folder, $"the plugin could not be read: {e.Message}"));
            return new FolderLoad(folder, fingerprint, null, [], errors, null, null);
        }
    }

    // Any added, removed, resized or rewritten file changes it; reading contents would be too slow for native trees.
    private static string Fingerprint(string folder)
    {
        var builder = new System.Text.StringBuilder();
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(file);
                builder.Append(Path.GetRelativePath(folder, file)).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder changing under us: a unique fingerprint makes the next load read it again.
            return Guid.NewGuid().ToString("N");
        }
        return builder.ToString();
    }

    private static IEnumerable<string> PluginFolders(string root)
    {
        var full = Path.GetFullPath(root);
        if (File.Exists(Path.Combine(full, PluginManifest.FileName))) return [full];
        if (!Directory.Exists(full)) return [];
        return Directory.GetDirectories(full).Order(StringComparer.Ordinal)
            .Where(d => File.Exists(Path.Combine(d, PluginManifest.FileName)));
    }

    private static (List<NodeDescriptor> Nodes, PluginLoader Loader, PluginNativeLibraries Native) LoadNodes(string folder, PluginManifest manifest, List<PluginLoadError> errors, PluginShadowCopy? shadowCopy, bool collectible)
    {
        VersionRange range;
        try
        {
            range = VersionRange.Parse(manifest.Sdk);
        }
        catch (FormatException)
        {
            throw new PluginLoadException($"the manifest's sdk range '{manifest.Sdk}' is not a version range such as '>=0.1.0 <1.0.0'");
        }
        if (!range.Contains(SdkVersion))
            throw new PluginLoadException($"needs FlowDiffusion SDK {manifest.Sdk}, but this host has SDK {SdkVersion.ToString(3)}; install a plugin version built for this SDK");

        // The assembly is a file inside the folder: a manifest may not point the loader (or the shadow copy) elsewhere.
        var assemblyPath = Path.GetFullPath(Path.Combine(folder, manifest.Assembly));
        if (Path.IsPathRooted(manifest.Assembly) || !assemblyPath.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new PluginLoadException($"the manifest's assembly '{manifest.Assembly}' is not a file inside the plugin folder; name it relative to the folder");
        if (!File.Exists(assemblyPath))
            throw new PluginLoadException($"its assembly '{manifest.Assembly}' is missing from the folder");

        if (shadowCopy is not null) assemblyPath = Path.Combine(shadowCopy.Copy(folder), manifest.Assembly);

        var native = PluginNativeLibraries.Of(Path.GetDirectoryName(assemblyPath)!);
        Assembly assembly;
        PluginLoader loader;
        try
        {
            loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, SharedTypes, config =>
            {
                // Not the host's copy of every library: a plugin pinned to an older (or newer) version gets its own.
                config.PreferSharedTypes = false;
                // Wrappers of native libraries (SkiaSharp, ONNX Runtime) come from the host where it has them: a native
                // library cannot be unloaded, and with those shared the plugin's own context can be.
                foreach (var shared in native.Shared) config.SharedAssemblies.Add(shared);
                config.IsUnloadable = collectible && native.Collectible;
            });
            assembly = loader.LoadDefaultAssembly();
        }
        catch (BadImageFormatException e)
        {
            throw new PluginLoadException($"'{manifest.Assembly}' is not a valid .NET assembly ({e.Message})", e);
        }
        catch (Exception e) when (e is FileLoadException or FileNotFoundException)
        {
            throw new PluginLoadException($"'{manifest.Assembly}' could not be loaded: {e.Message}", e);
        }

        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var first = e.LoaderExceptions.FirstOrDefault(x => x is not null);
            throw new PluginLoadException($"types of '{manifest.Assembly}' could not be loaded — a dependency is missing or incompatible: {first?.Message}", e);
        }

        var nodes = new List<NodeDescriptor>();
        foreach (var type in types.Where(NodeDescriptorReader.IsNodeType).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            try
            {
                nodes.Add(NodeDescriptorReader.Read(type, manifest.Id));
            }
            catch (NodeDeclarationException e)
            {
                errors.Add(new PluginLoadError(manifest.Id, folder, $"node skipped: {e.Message}"));
            }
            catch (Exception e) when (e is TypeLoadException or FileNotFoundException or FileLoadException)
            {
                errors.Add(new PluginLoadError(manifest.Id, folder, $"node {type.FullName} skipped: {e.Message}"));
            }
        }
        if (nodes.Count == 0 && errors.Count == 0)
            throw new PluginLoadException($"'{manifest.Assembly}' declares no node types (classes implementing INode with [Node])");
        return (nodes, loader, native);
    }

    private sealed record FolderLoad(string Folder, string Fingerprint, PluginManifest? Manifest, IReadOnlyList<NodeDescriptor> Nodes, IReadOnlyList<PluginLoadError> Errors,
        PluginLoader? Loader, PluginNativeLibraries? Native);
}
