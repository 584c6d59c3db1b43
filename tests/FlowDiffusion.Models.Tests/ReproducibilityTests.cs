using System.Security.Cryptography;
using System.Text.Json;
using FlowDiffusion.ModelGenerator;

namespace FlowDiffusion.Models.Tests;

public sealed class ReproducibilityTests
{
    [Fact]
    public void Regenerating_reproduces_the_committed_models_byte_for_byte()
    {
        using var folder = new TempFolder();
        ModelWriter.WriteShipped(folder.Path);

        var committed = ShippedFiles(RepositoryRoot.Models);
        var regenerated = ShippedFiles(folder.Path);

        Assert.Equal(committed, regenerated);
        Assert.All(committed, path => Assert.True(
            File.ReadAllBytes(Path.Combine(RepositoryRoot.Models, path)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(folder.Path, path))),
            $"{path} differs from a fresh generation; run `dotnet run --project models/FlowDiffusion.ModelGenerator -- --out models` and commit."));
    }

    [Fact]
    public void Manifest_lists_the_sha256_of_every_shipped_file()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepositoryRoot.Models, ModelWriter.ManifestName)));
        var listed = manifest.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        var files = ShippedFiles(RepositoryRoot.Models).Where(p => p != ModelWriter.ManifestName).ToList();

        Assert.Equal(files, listed.Keys.Order(StringComparer.Ordinal));
        Assert.All(files, path => Assert.Equal(listed[path], Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(RepositoryRoot.Models, path))))));
    }

    [Fact]
    public void Shipped_models_stay_small()
    {
        var bytes = ShippedFiles(RepositoryRoot.Models).Sum(p => new FileInfo(Path.Combine(RepositoryRoot.Models, p)).Length);
        Assert.InRange(bytes, 1_000_000, 10_000_000);
    }

    [Fact]
    public void Each_model_folder_has_the_diffusers_onnx_layout()
    {
        string[] expected =
        [
            "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.onnx",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/model.onnx", "vae_decoder/config.json", "vae_decoder/model.onnx",
            "vae_encoder/config.json", "vae_encoder/model.onnx",
        ];
        foreach (var model in ModelWriter.ShippedModels)
        {
            Assert.Equal(expected, FilesUnder(Path.Combine(RepositoryRoot.Models, model)));
        }
    }

    /// <summary>The generator's outputs under a models root: the shipped folders and the manifest, not the generator's sources.</summary>
    private static List<string> ShippedFiles(string root) =>
        ModelWriter.ShippedModels
            .SelectMany(model => FilesUnder(Path.Combine(root, model)).Select(p => $"{model}/{p}"))
            .Append(ModelWriter.ManifestName)
            .Order(StringComparer.Ordinal)
            .ToList();

    private static List<string> FilesUnder(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
}
