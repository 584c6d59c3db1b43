namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// The plugin packs the tests load, each built once per test run against the packed SDK: the sample pack from
/// plugins/samples, two builds of a reloadable pack and a pack bringing its own native library offline, and, with the usual package sources, two packs needing
/// different Newtonsoft.Json versions and one pinned to an older YamlDotNet than the host's.
/// </summary>
internal static class PluginBuilds
{
    private static readonly Lazy<OfflinePacks> Offline = new(BuildOffline);
    private static readonly Lazy<PinnedPacks> Pinned = new(BuildPinned);

    /// <summary>The sample pack and the reloadable pack's two builds.</summary>
    public static OfflinePacks OfflineBuilt => Offline.Value;

    /// <summary>The packs pinned to library versions.</summary>
    public static PinnedPacks PinnedBuilt => Pinned.Value;

    private static OfflinePacks BuildOffline()
    {
        var sdk = PackedSdk.Shared;
        var root = Scratch.NewFolder("offline");
        sdk.WriteNuGetConfig(root, offline: true);
        var samples = Path.Combine(root, "samples");
        Scratch.CopyTree(RepositoryRoot.Combine("plugins", "samples"), samples);
        File.Delete(Path.Combine(samples, "nuget.config"));
        var sampleProject = Path.Combine(samples, "FlowDiffusion.Samples.Guidance", "FlowDiffusion.Samples.Guidance.csproj");
        var v1 = PluginSources.Write(Path.Combine(root, "reload-1"), Path.Combine(root, "out", "reload-1"), "Tests.Reloadable", "tests.reloadable", "1.0.0", PluginSources.Reloadable(1, withAddedNode: false));
        var v2 = PluginSources.Write(Path.Combine(root, "reload-2"), Path.Combine(root, "out", "reload-2"), "Tests.Reloadable", "tests.reloadable", "2.0.0", PluginSources.Reloadable(2, withAddedNode: true));
        var ownNative = PluginSources.Write(Path.Combine(root, "own-native"), Path.Combine(root, "out", "own-native"), "Tests.OwnNative", "tests.own-native", "1.0.0", PluginSources.OwnNative);
        var solution = Path.Combine(root, "packs.slnx");
        File.WriteAllText(solution, $"""
            <Solution>
              <Project Path="{Path.GetRelativePath(root, sampleProject)}" />
              <Project Path="{Path.GetRelativePath(root, v1)}" />
              <Project Path="{Path.GetRelativePath(root, v2)}" />
              <Project Path="{Path.GetRelativePath(root, ownNative)}" />
            </Solution>
            """);
        var output = DotnetCli.Run(root, "build", solution, "-c", "Release");
        // The native library the pack calls, as a package would place it; never called, so an ELF header is enough.
        var nativeFolder = Directory.CreateDirectory(Path.Combine(root, "out", "own-native", "runtimes", "linux-x64", "native")).FullName;
        File.WriteAllBytes(Path.Combine(nativeFolder, $"lib{PluginSources.OwnNativeLibrary}.so"), [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]);
        return new OfflinePacks(
            Path.Combine(samples, "FlowDiffusion.Samples.Guidance", "bin", "Release", "net10.0"),
            Path.Combine(samples, "FlowDiffusion.Samples.Guidance", "obj", "project.assets.json"),
            Path.Combine(root, "out", "reload-1"),
            Path.Combine(root, "out", "reload-2"),
            Path.Combine(root, "out", "own-native"),
            output);
    }

    private static PinnedPacks BuildPinned()
    {
        var sdk = PackedSdk.Shared;
        var root = Scratch.NewFolder("pinned");
        sdk.WriteNuGetConfig(root, offline: false);
        var twelve = PluginSources.Write(Path.Combine(root, "json12"), Path.Combine(root, "out", "json12"), "Tests.Json12", "tests.json12", "1.0.0",
            PluginSources.JsonVersion("json12.version"), """<PackageReference Include="Newtonsoft.Json" Version="12.0.3" />""");
        var thirteen = PluginSources.Write(Path.Combine(root, "json13"), Path.Combine(root, "out", "json13"), "Tests.Json13", "tests.json13", "1.0.0",
            PluginSources.JsonVersion("json13.version"), """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""");
        var yaml16 = PluginSources.Write(Path.Combine(root, "yaml16"), Path.Combine(root, "out", "yaml16"), "Tests.Yaml16", "tests.yaml16", "1.0.0",
            PluginSources.YamlVersion("yaml16.version"), """<PackageReference Include="YamlDotNet" Version="16.3.0" />""");
        var solution = Path.Combine(root, "packs.slnx");
        File.WriteAllText(solution, $"""
            <Solution>
              <Project Path="{Path.GetRelativePath(root, twelve)}" />
              <Project Path="{Path.GetRelativePath(root, thirteen)}" />
              <Project Path="{Path.GetRelativePath(root, yaml16)}" />
            </Solution>
            """);
        DotnetCli.Run(root, "build", solution, "-c", "Release");
        return new PinnedPacks(Path.Combine(root, "out", "json12"), Path.Combine(root, "out", "json13"), Path.Combine(root, "out", "yaml16"));
    }
}

/// <summary>Build outputs of the offline packs; <c>OwnNative</c> ships a native library the host does not have.</summary>
internal sealed record OfflinePacks(string Sample, string SampleAssets, string ReloadV1, string ReloadV2, string OwnNative, string BuildOutput);

/// <summary>Build outputs of the packs pinned to library versions: Newtonsoft.Json 12 and 13, and YamlDotNet 16 (the host uses 18).</summary>
internal sealed record PinnedPacks(string Json12, string Json13, string Yaml16);
