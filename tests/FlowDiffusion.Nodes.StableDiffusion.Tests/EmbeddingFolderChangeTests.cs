using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.load's cached outputs follow its embeddings folder: a later run in the same engine sees an embedding added,
/// replaced or removed (the folder's listing, sizes and modification times are part of the node's cache key), while an
/// unchanged folder keeps the text encoder's work cached.
/// </summary>
public sealed class EmbeddingFolderChangeTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");

    [Fact]
    public async Task A_cached_model_sees_embeddings_added_replaced_and_removed_and_keeps_its_cache_when_nothing_changed()
    {
        using var engine = new SdEngine();
        using var folder = new TempFolder();
        var embeddings = Path.Combine(folder.Path, "embeddings");
        Directory.CreateDirectory(embeddings);
        File.Copy(Path.Combine(Data, "embeddings", "sp.safetensors"), Path.Combine(embeddings, "mine.safetensors"));

        var first = await RunAsync(engine, embeddings, "a embedding:mine");
        Assert.Equal(3, EmbeddingIds(first).Length);

        // Nothing changed: everything up to the conditioning comes from the cache.
        var again = await RunAsync(engine, embeddings, "a embedding:mine");
        Assert.Equal(1, again.CachedCount("model"));
        Assert.Equal(1, again.CachedCount("encode"));

        // A new file is found by the next run, without a restart.
        File.Copy(Path.Combine(Data, "embeddings", "style-a1111.safetensors"), Path.Combine(embeddings, "new.safetensors"));
        var added = await RunAsync(engine, embeddings, "embedding:new");
        Assert.Equal(0, added.CachedCount("model"));
        Assert.Equal(2, EmbeddingIds(added).Length);

        // Replacing a file's vectors (1 vector now, not 3) changes what the same prompt encodes to.
        File.Copy(Path.Combine(Data, "embeddings", "one-clip-l.safetensors"), Path.Combine(embeddings, "mine.safetensors"), overwrite: true);
        File.SetLastWriteTimeUtc(Path.Combine(embeddings, "mine.safetensors"), DateTime.UtcNow.AddMinutes(1));
        var replaced = await RunAsync(engine, embeddings, "a embedding:mine");
        Assert.Equal(0, replaced.CachedCount("encode"));
        Assert.Single(EmbeddingIds(replaced));
        using (var fresh = new SdEngine())
        {
            var expected = Conditioning(await RunAsync(fresh, embeddings, "a embedding:mine"));
            Assert.Equal(expected, Conditioning(replaced));
        }
        Assert.NotEqual(Conditioning(first), Conditioning(replaced));

        // A removed file is missed by name.
        File.Delete(Path.Combine(embeddings, "new.safetensors"));
        var removed = await engine.RunYamlAsync(Yaml(embeddings, "embedding:new"), new Dictionary<string, object?>());
        Assert.Equal(RunStatus.Failed, removed.Result.Status);
        Assert.Contains("'new'", removed.Result.Error);
    }

    private static async Task<SdRun> RunAsync(SdEngine engine, string embeddings, string prompt) =>
        (await engine.RunYamlAsync(Yaml(embeddings, prompt), new Dictionary<string, object?>())).AssertCompleted();

    private static string Yaml(string embeddings, string prompt) => $"""
        flowdiffusion: 1
        name: embeddings
        nodes:
          model: {"{"} node: model.load, with: {"{"} path: "{Path.Combine(Data, "ldm-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "{embeddings}" {"}"} {"}"}
          tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: "{prompt}" {"}"} {"}"}
          encode: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: tokens.tokens {"}"} {"}"}
        """;

    // Ids past the tiny encoder's 768-entry vocabulary are the embeddings' vectors.
    private static int[] EmbeddingIds(SdRun run) =>
        [.. Assert.IsType<Tokens>(run.Result.Output("tokens", "tokens")).Chunks[0].Ids.Where(id => id >= 768)];

    private static float[] Conditioning(SdRun run) => Assert.IsType<Conditioning>(run.Result.Output("encode", "conditioning")).Embeddings.ToArray();
}
