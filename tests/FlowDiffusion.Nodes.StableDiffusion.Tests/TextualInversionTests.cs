using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// Textual inversion through model.load's embeddings folder on the tiny SD 1.x checkpoint: the tokenizer expands
/// <c>embedding:name</c> and bare names into ids past the encoder's vocabulary, and the text encoder looks them up in
/// the embeddings' vectors — against torch with the vectors in place of the token embeddings
/// (tools/reference/make_embeddings.py; A1111 emb_params, clip_l and string_to_param layouts; 1, 2 and 3 vectors).
/// </summary>
public sealed class TextualInversionTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string Embeddings = Path.Combine(Data, "embeddings");

    // The files in alphabetical order, as make_embeddings.py numbers them in ti.slots.
    private static readonly string[] Names = ["one-clip-l", "sp", "style-a1111"];

    [Fact]
    public async Task Prompts_naming_embeddings_encode_as_torch_does_with_the_vectors_in_place_of_the_token_embeddings()
    {
        var run = await LoadAsync();
        var tokenizer = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("model", "tokenizer"));
        var clip = Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output("model", "clip"));

        // The product's ids for each embedding, from its own tokenizer: ComfyUI's syntax (with an extension) and A1111's bare name.
        var ids = new Dictionary<string, int[]>
        {
            ["one-clip-l"] = Body(tokenizer.Tokenize("one-clip-l")),
            ["sp"] = Body(tokenizer.Tokenize("embedding:sp.safetensors")),
            ["style-a1111"] = Body(tokenizer.Tokenize("embedding:style-a1111")),
        };
        Assert.Equal([1, 3, 2], Names.Select(n => ids[n].Length));
        Assert.All(ids.Values.SelectMany(v => v), id => Assert.True(id >= 768, $"id {id} is inside the tiny encoder's vocabulary"));

        var reference = ReferenceIds();
        var slots = Ints("ti.slots");
        for (var s = 0; s < slots.Length; s += 4)
        {
            reference[slots[s] * 77 + slots[s + 1]] = ids[Names[slots[s + 2]]][slots[s + 3]];
        }

        for (var skip = 1; skip <= 2; skip++)
        {
            var expected = Floats(skip == 1 ? "ti.last_hidden_state" : "ti.penultimate_hidden_state");
            for (var row = 0; row < 2; row++)
            {
                var rowIds = reference[(row * 77)..((row + 1) * 77)];
                var tokens = new Tokens("reference ids", [new TokenChunk(rowIds, [.. Enumerable.Repeat(1f, 77)])]);
                var conditioning = await clip.EncodeAsync([tokens], skip, CancellationToken.None);
                var actual = conditioning.Embeddings.ToArray();
                var worst = actual.Select((v, i) => Math.Abs(v - expected[row * 77 * 64 + i])).Max();
                Assert.True(worst <= 1e-4, $"clip_skip {skip}, row {row}: max |difference| {worst:G4} exceeds 1e-4");
            }
        }
    }

    [Fact]
    public async Task Embedding_references_expand_in_place_with_their_prompt_weights_and_plain_prompts_are_unchanged()
    {
        var run = await LoadAsync();
        var tokenizer = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("model", "tokenizer"));
        var style = Body(tokenizer.Tokenize("embedding:style-a1111"));
        var sp = Body(tokenizer.Tokenize("sp"));
        var a = Body(tokenizer.Tokenize("a"));
        var cat = Body(tokenizer.Tokenize("cat"));

        var tokens = tokenizer.Tokenize("a (embedding:style-a1111:1.2) cat, SP");
        var chunk = Assert.Single(tokens.Chunks);
        var comma = Body(tokenizer.Tokenize(","));
        int[] body = [.. a, .. style, .. cat, .. comma, .. sp];
        Assert.Equal(body, chunk.Ids.Skip(1).Take(body.Length));
        Assert.Equal([1f, 1.2f, 1.2f, 1f, 1f, 1f, 1f, 1f], chunk.Weights.Skip(1).Take(body.Length).Select(w => MathF.Round(w, 4)));

        // Words that only contain a name, or a prompt with none, tokenize as before.
        var plain = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("plain", "tokenizer"));
        Assert.Equal(plain.Tokenize("spy sp-x a cat").Chunks[0].Ids, tokenizer.Tokenize("spy sp-x a cat").Chunks[0].Ids);
    }

    [Fact]
    public async Task An_unknown_or_unreadable_embedding_is_refused_naming_it()
    {
        var run = await LoadAsync();
        var tokenizer = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("model", "tokenizer"));

        var unknown = Assert.Throws<ArgumentException>(() => tokenizer.Tokenize("a embedding:nope cat"));
        Assert.Contains("'nope'", unknown.Message);
        Assert.Contains("style-a1111", unknown.Message);
        var wide = Assert.Throws<ArgumentException>(() => tokenizer.Tokenize("embedding:wide"));
        Assert.Contains("wide.safetensors", wide.Message);
        Assert.Contains("96", wide.Message);
    }

    private static async Task<SdRun> LoadAsync()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: ti
            nodes:
              model: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "{Embeddings}" {"}"} {"}"}
              plain: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "" {"}"} {"}"}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    // The ids between BOS and the first EOS.
    private static int[] Body(Tokens tokens)
    {
        var ids = tokens.Chunks[0].Ids;
        var end = ids.Skip(1).ToList().IndexOf(ids[^1]);
        return [.. ids.Skip(1).Take(end)];
    }

    private static int[] ReferenceIds() => Ints("ti.input_ids");

    private static int[] Ints(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "embeddings-reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var values = new int[raw.Length / 8];
        for (var i = 0; i < values.Length; i++) values[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return values;
    }

    private static float[] Floats(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "embeddings-reference.safetensors"));
        return file.ReadFloat32(name);
    }
}
