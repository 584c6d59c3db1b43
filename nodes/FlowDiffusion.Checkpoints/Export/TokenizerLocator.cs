namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Finds a CLIP tokenizer folder (<c>vocab.json</c> + <c>merges.txt</c>) for a checkpoint, which carries none: the folder
/// given, else <c>models/tokenizers/clip-vit-large-patch14</c>, else the Hugging Face cache.
/// </summary>
public static class TokenizerLocator
{
    /// <summary>The default tokenizer folder, relative to the working folder.</summary>
    public const string DefaultFolder = "models/tokenizers/clip-vit-large-patch14";

    private static readonly string[] Required = ["vocab.json", "merges.txt"];

    /// <summary>The tokenizer folder to use; throws naming every place looked at and the files to put there.</summary>
    public static string Find(string? given, string workingFolder)
    {
        if (given is not null)
        {
            return Holds(given) ? given : throw new FileNotFoundException($"Tokenizer folder '{given}' must contain vocab.json and merges.txt (CLIP's BPE files).");
        }

        var candidates = new List<string> { Path.Combine(workingFolder, DefaultFolder) };
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var hub = Environment.GetEnvironmentVariable("HF_HUB_CACHE")
            ?? (Environment.GetEnvironmentVariable("HF_HOME") is { } hf ? Path.Combine(hf, "hub") : Path.Combine(home, ".cache", "huggingface", "hub"));
        var snapshots = Path.Combine(hub, "models--openai--clip-vit-large-patch14", "snapshots");
        if (Directory.Exists(snapshots))
        {
            candidates.AddRange(Directory.GetDirectories(snapshots).Order(StringComparer.Ordinal).SelectMany(s => new[] { s, Path.Combine(s, "tokenizer") }));
        }

        return candidates.FirstOrDefault(Holds) ?? throw new FileNotFoundException(
            $"No CLIP tokenizer found: a .safetensors checkpoint carries none. Put vocab.json and merges.txt of openai/clip-vit-large-patch14 into " +
            $"'{Path.Combine(workingFolder, DefaultFolder)}', or pass a tokenizer folder. Looked in: {string.Join(", ", candidates.DefaultIfEmpty(snapshots))}.");
    }

    private static bool Holds(string folder) => Required.All(f => File.Exists(Path.Combine(folder, f)));
}
