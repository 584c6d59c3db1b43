namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// A working folder of its own for a ComfyUI host that runs single-file checkpoints: models/checkpoints and models/loras
/// as a test fills them, and the tiny tokenizer where model.load looks for a checkpoint's CLIP vocabulary
/// (models/tokenizers/clip-vit-large-patch14). Deleted on dispose.
/// </summary>
internal sealed class CheckpointHome : IDisposable
{
    /// <summary>The Checkpoints.Tests data folder the tiny checkpoints and LoRAs come from.</summary>
    public static readonly string TestData = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    public CheckpointHome(string prefix)
    {
        Folder = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        foreach (var file in new[] { "vocab.json", "merges.txt" })
            Add(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd", "tokenizer", file), "tokenizers/clip-vit-large-patch14/" + file);
    }

    public string Folder { get; }

    /// <summary>The host settings that make this folder its working and models folder, with the repository's plugins.</summary>
    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["FlowDiffusion:Server:WorkingFolder"] = Folder,
        ["FlowDiffusion:ModelsFolder"] = Path.Combine(Folder, "models"),
        ["FlowDiffusion:PluginFolders:0"] = Path.Combine(RepositoryRoot.Path, "plugins"),
    };

    /// <summary>Copies <paramref name="from"/> to models/<paramref name="model"/> (e.g. <c>loras/a.safetensors</c>).</summary>
    public void Add(string from, string model)
    {
        var to = Path.Combine(Folder, "models", model);
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }
}
