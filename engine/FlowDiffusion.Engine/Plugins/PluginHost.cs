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
/// reported and skipped; the rest load.
/// </summary>
public sealed class PluginHost(ILogger<PluginHost>? logger = null)
{
    private static readonly Type[] SharedTypes = [typeof(INode), typeof(ILogger), typeof(ILoggerFactory)];
    private readonly ILogger _logger = logger ?? NullLogger<PluginHost>.Instance;

    /// <summary>The SDK version plugins are checked against.</summary>
    public static Version SdkVersion { get; } = typeof(INode).Assembly.GetName().Version ?? new Version(0, 0, 0);

    /// <summary>Finds and loads the plugins under <paramref name="roots"/>.</summary>
    /// <param name="roots">Folders holding plugin folders (or plugin folders themselves); missing ones are skipped.</param>
    public PluginSet Load(IEnumerable<string> roots)
    {
        var plugins = new List<LoadedPlugin>();
        var errors = new List<PluginLoadError>();
        var registered = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in roots.SelectMany(PluginFolders).Distinct(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            try
            {
                var manifest = PluginManifest.Read(Path.Combine(folder, PluginManifest.FileName));
                name = manifest.Id;
                var nodes = LoadFolder(folder, manifest, errors);
                var accepted = new List<NodeDescriptor>();
                foreach (var node in nodes)
                {
                    if (registered.TryGetValue(node.Id, out var owner))
                    {
                        errors.Add(new PluginLoadError(manifest.Id, folder, $"node id '{node.Id}' is already registered by plugin '{owner}'; this plugin's node was skipped"));
                        continue;
                    }
                    registered[node.Id] = manifest.Id;
                    accepted.Add(node);
                }
                plugins.Add(new LoadedPlugin(manifest, folder, accepted));
                _logger.LogInformation("Loaded plugin {Plugin} {Version} from {Folder}: {Count} nodes", manifest.Id, manifest.Version, folder, accepted.Count);
            }
            catch (PluginLoadException e)
            {
                errors.Add(new PluginLoadError(name, folder, e.Message));
            }
        }
        foreach (var error in errors) _logger.LogWarning("{Error}", error.ToString());
        return new PluginSet(plugins, errors, new NodeCatalog(plugins.SelectMany(p => p.Nodes)));
    }

    private static IEnumerable<string> PluginFolders(string root)
    {
        var full = Path.GetFullPath(root);
        if (File.Exists(Path.Combine(full, PluginManifest.FileName))) return [full];
        if (!Directory.Exists(full)) return [];
        return Directory.GetDirectories(full).Order(StringComparer.Ordinal)
            .Where(d => File.Exists(Path.Combine(d, PluginManifest.FileName)));
    }

    private static List<NodeDescriptor> LoadFolder(string folder, PluginManifest manifest, List<PluginLoadError> errors)
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

        var assemblyPath = Path.Combine(folder, manifest.Assembly);
        if (!File.Exists(assemblyPath))
            throw new PluginLoadException($"its assembly '{manifest.Assembly}' is missing from the folder");

        Assembly assembly;
        try
        {
            var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, SharedTypes, config =>
            {
                config.PreferSharedTypes = true;
                // Not collectible: SkiaSharp (and other packages with native assets) refuse to load into a collectible context.
                config.IsUnloadable = false;
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
        if (nodes.Count == 0 && errors.All(e => e.Folder != folder))
            throw new PluginLoadException($"'{manifest.Assembly}' declares no node types (classes implementing INode with [Node])");
        return nodes;
    }
}
