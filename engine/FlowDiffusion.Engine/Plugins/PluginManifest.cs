using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>A plugin folder's <c>plugin.json</c>: who it is and which SDK versions it was built for.</summary>
public sealed record PluginManifest
{
    /// <summary>The manifest's file name.</summary>
    public const string FileName = "plugin.json";

    /// <summary>A unique plugin id, e.g. <c>flowdiffusion.stable-diffusion</c>.</summary>
    [JsonPropertyName("id")] public string Id { get; init; } = "";

    /// <summary>The plugin's semantic version.</summary>
    [JsonPropertyName("version")] public string Version { get; init; } = "0.0.0";

    /// <summary>The SDK versions it supports, e.g. <c>&gt;=0.1.0 &lt;1.0.0</c>.</summary>
    [JsonPropertyName("sdk")] public string Sdk { get; init; } = "";

    /// <summary>The assembly file holding its nodes, relative to the folder.</summary>
    [JsonPropertyName("assembly")] public string Assembly { get; init; } = "";

    /// <summary>What the plugin offers.</summary>
    [JsonPropertyName("description")] public string Description { get; init; } = "";

    /// <summary>Who made it.</summary>
    [JsonPropertyName("author")] public string Author { get; init; } = "";

    /// <summary>Reads and checks a manifest file.</summary>
    /// <exception cref="PluginLoadException">The file is missing, malformed or incomplete.</exception>
    public static PluginManifest Read(string path)
    {
        PluginManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<PluginManifest>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new PluginLoadException($"{path}: malformed plugin manifest: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PluginLoadException($"{path}: the plugin manifest could not be read: {e.Message}");
        }
        if (manifest is null) throw new PluginLoadException($"{path}: the plugin manifest is empty");
        var missing = new[] { ("id", manifest.Id), ("version", manifest.Version), ("sdk", manifest.Sdk), ("assembly", manifest.Assembly) }
            .Where(f => string.IsNullOrWhiteSpace(f.Item2)).Select(f => f.Item1).ToList();
        if (missing.Count > 0) throw new PluginLoadException($"{path}: the plugin manifest lacks {string.Join(", ", missing)}");
        return manifest;
    }
}
