using System.Security.Cryptography;
using System.Text.Json;

namespace FlowDiffusion.Models.Tests;

/// <summary>models/shapes-sd is a trained artefact: its manifest pins every file's SHA-256 and the folder stays under 20 MB.</summary>
public sealed class ShapesSdManifestTests
{
    private static string Folder => Path.Combine(RepositoryRoot.Models, "shapes-sd");

    private static Dictionary<string, string> Manifest() =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(Folder, "manifest.json")))!;

    private static IEnumerable<string> Files() => Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(Folder, f).Replace(Path.DirectorySeparatorChar, '/'))
        .Where(f => f != "manifest.json");

    [Fact]
    public void Every_file_matches_its_manifest_hash()
    {
        foreach (var (file, hash) in Manifest())
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Folder, file))));
            Assert.True(hash == actual, $"{file}: manifest {hash}, file {actual}");
        }
    }

    [Fact]
    public void Manifest_lists_exactly_the_diffusers_onnx_layout()
    {
        var expected = new[]
        {
            "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.onnx",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/model.onnx", "vae_decoder/config.json", "vae_decoder/model.onnx",
            "vae_encoder/config.json", "vae_encoder/model.onnx",
        };

        Assert.Equal(expected.Order(StringComparer.Ordinal), Manifest().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(expected.Order(StringComparer.Ordinal), Files().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Folder_fits_the_20_MB_budget()
    {
        var bytes = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1_000_000, 20_000_000);
    }

    [Fact]
    public void Vocabulary_is_its_own_small_clip_format_table()
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(Folder, "tokenizer", "vocab.json")))!;

        Assert.Equal(0, vocab["!"]);
        Assert.Equal(256, vocab["!</w>"]);
        Assert.Equal(vocab.Count - 2, vocab["<|startoftext|>"]);
        Assert.Equal(vocab.Count - 1, vocab["<|endoftext|>"]);
        foreach (var word in new[] { "red", "magenta", "circle", "triangle", "ring", "cross", "square", "background", "on" })
        {
            Assert.True(vocab.ContainsKey(word + "</w>"), word);
        }
    }
}
