using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// What decides whether a plugin's load context can be unloaded: the native libraries it ships and the managed
/// assemblies that call into them (SkiaSharp into libSkiaSharp, ONNX Runtime into libonnxruntime). A native library
/// stays loaded for the life of the process and such wrappers do not work from a collectible context, so each wrapper
/// is taken from the host instead (shared from the default load context) when the host carries it with its native
/// library, at the plugin's version or newer. A plugin whose wrappers all come from the host loads into a collectible
/// context; one that brings a wrapper the host lacks stays loaded until the host restarts.
/// </summary>
internal sealed partial record PluginNativeLibraries(IReadOnlyList<AssemblyName> Shared, IReadOnlyList<string> OwnNative)
{
    private static readonly Lazy<HostLibraries> Host = new(HostLibraries.Read);

    /// <summary>Whether the plugin's load context can be collectible.</summary>
    public bool Collectible => OwnNative.Count == 0;

    /// <summary>Inspects the plugin folder holding <paramref name="folder"/>'s files (managed assemblies at the top, native ones anywhere).</summary>
    public static PluginNativeLibraries Of(string folder)
    {
        var native = NativeFiles(folder);
        if (native.Count == 0) return new PluginNativeLibraries([], []);
        var shared = new List<AssemblyName>();
        var own = new List<string>();
        foreach (var dll in Directory.EnumerateFiles(folder, "*.dll").Order(StringComparer.Ordinal))
        {
            if (ReadImports(dll) is not { } assembly) continue;
            var called = assembly.Imports.Where(native.ContainsKey).ToList();
            if (called.Count == 0) continue;
            if (Host.Value.Provides(assembly.Name, called)) shared.Add(assembly.Name);
            else own.AddRange(called.Select(stem => $"{native[stem]} (called by {Path.GetFileName(dll)}, which the host does not provide at version {assembly.Name.Version} or newer)"));
        }
        return new PluginNativeLibraries(shared, own);
    }

    // The stem a DllImport names and a file carries: "libSkiaSharp.so" and [DllImport("libSkiaSharp")] are both "skiasharp".
    internal static string Stem(string name)
    {
        var file = NativeSuffix().Replace(Path.GetFileName(name), "");
        if (file.StartsWith("lib", StringComparison.Ordinal) && file.Length > 3) file = file[3..];
        return file.ToLowerInvariant();
    }

    [GeneratedRegex(@"(\.so(\.[0-9]+)*|\.dylib|\.dll)$", RegexOptions.IgnoreCase)]
    private static partial Regex NativeSuffix();

    private static Dictionary<string, string> NativeFiles(string folder)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var runtimes = Path.Combine(folder, "runtimes");
        var candidates = Directory.Exists(runtimes)
            ? Directory.EnumerateFiles(runtimes, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "native")
            : [];
        candidates = candidates.Concat(Directory.EnumerateFiles(folder).Where(f => !f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && NativeSuffix().IsMatch(f)));
        foreach (var file in candidates) files.TryAdd(Stem(file), Path.GetRelativePath(folder, file));
        foreach (var dll in Directory.EnumerateFiles(folder, "*.dll").Where(IsNative)) files.TryAdd(Stem(dll), Path.GetFileName(dll));
        return files;
    }

    private static bool IsNative(string dll)
    {
        try
        {
            using var stream = File.OpenRead(dll);
            using var pe = new PEReader(stream);
            return !pe.HasMetadata;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static ManagedImports? ReadImports(string dll)
    {
        try
        {
            using var stream = File.OpenRead(dll);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) return null;
            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly) return null;
            var imports = Enumerable.Range(1, metadata.GetTableRowCount(TableIndex.ModuleRef))
                .Select(row => Stem(metadata.GetString(metadata.GetModuleReference(MetadataTokens.ModuleReferenceHandle(row)).Name))).Distinct().ToList();
            return new ManagedImports(metadata.GetAssemblyDefinition().GetAssemblyName(), imports);
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Not a readable assembly: the loader reports it if the plugin needs it.
            return null;
        }
    }

    private sealed record ManagedImports(AssemblyName Name, IReadOnlyList<string> Imports);

    // The host's trusted assemblies and native search folders, as the runtime was started with them.
    private sealed record HostLibraries(IReadOnlyDictionary<string, string> Assemblies, IReadOnlyList<string> NativeFolders)
    {
        public static HostLibraries Read()
        {
            var assemblies = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var path in Split("TRUSTED_PLATFORM_ASSEMBLIES")) assemblies.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            return new HostLibraries(assemblies, Split("NATIVE_DLL_SEARCH_DIRECTORIES"));
        }

        public bool Provides(AssemblyName assembly, IReadOnlyList<string> nativeStems)
        {
            if (assembly.Name is null || !Assemblies.TryGetValue(assembly.Name, out var path)) return false;
            try
            {
                if (AssemblyName.GetAssemblyName(path).Version is not { } version || version < (assembly.Version ?? new Version(0, 0))) return false;
            }
            catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException)
            {
                return false;
            }
            return nativeStems.All(stem => NativeFolders.Any(folder => HasNative(folder, stem)));
        }

        private static bool HasNative(string folder, string stem)
        {
            try
            {
                return Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any(f => Stem(f) == stem && (!f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || IsNative(f)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static IReadOnlyList<string> Split(string key) =>
            AppContext.GetData(key) is string list ? list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries) : [];
    }
}
