using FlowDiffusion.Engine.Plugins;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// The SDK packed once per test run with the documented command into a local package source, and the NuGet
/// configurations plugin builds use: offline (that source only; everything else must already be in the global
/// packages folder) or with the machine's usual sources added.
/// </summary>
internal sealed class PackedSdk
{
    private static readonly Lazy<PackedSdk> Instance = new(() => new PackedSdk());

    private PackedSdk()
    {
        Feed = Path.Combine(Scratch.Root, "feed");
        PackOutput = DotnetCli.Run(RepositoryRoot.Path, "pack", "engine/FlowDiffusion.Sdk", "-o", Feed, "--artifacts-path", Path.Combine(Scratch.Root, "sdk-build"));
        Package = Path.Combine(Feed, $"FlowDiffusion.Sdk.{Version}.nupkg");
        // A package of the same version restored earlier would shadow this one: restore must extract the fresh build.
        var cached = Path.Combine(GlobalPackagesFolder, "flowdiffusion.sdk", Version);
        if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
    }

    public static PackedSdk Shared => Instance.Value;

    /// <summary>The version the package carries: the SDK assembly's.</summary>
    public static string Version => PluginHost.SdkVersion.ToString(3);

    /// <summary>The local package source folder.</summary>
    public string Feed { get; }

    /// <summary>The package file.</summary>
    public string Package { get; }

    /// <summary>What dotnet pack printed.</summary>
    public string PackOutput { get; }

    private static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Writes a nuget.config into <paramref name="folder"/>: the local source only when offline, else added to the usual ones.</summary>
    public void WriteNuGetConfig(string folder, bool offline)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                {(offline ? "<clear />" : "")}
                <add key="flowdiffusion-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }
}
