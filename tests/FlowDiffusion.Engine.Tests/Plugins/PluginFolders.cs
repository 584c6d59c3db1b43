using System.Text.Json.Nodes;

namespace FlowDiffusion.Engine.Tests.Plugins;

/// <summary>Builds plugin folders, good and deliberately broken, under a scratch root.</summary>
internal sealed class PluginFolders(string root)
{
    public string Root => root;

    /// <summary>A copy of the deployed test pack, its manifest edited by <paramref name="edit"/>.</summary>
    public string CopyOfTestPack(string name, Action<JsonObject>? edit = null)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(RepositoryRoot.TestNodesPlugin))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        if (edit is not null)
        {
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "plugin.json")))!.AsObject();
            edit(manifest);
            File.WriteAllText(Path.Combine(folder, "plugin.json"), manifest.ToJsonString());
        }
        return folder;
    }

    /// <summary>A folder holding only a manifest with this text.</summary>
    public string WithManifest(string name, string manifest)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "plugin.json"), manifest);
        return folder;
    }
}
