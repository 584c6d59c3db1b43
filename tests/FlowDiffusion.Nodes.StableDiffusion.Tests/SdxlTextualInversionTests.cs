using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// SDXL textual inversion: an embedding file with clip_l and clip_g vectors (tools/reference/make_sdxl_embedding.py) named
/// as embedding:NAME on the tiny SDXL checkpoint — each table goes to its own tower under the same ids, and the pooled
/// projection stays at the end-of-text token — against torch within 1e-4.
/// </summary>
public sealed class SdxlTextualInversionTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Fact]
    public async Task Sdxl_embedding_puts_clip_l_into_the_first_tower_and_clip_g_into_the_second_as_torch_does()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(Data, "sdxl-tiny", "embeddings"), "embedding:sdxl-style a red"), new Dictionary<string, object?>())).AssertCompleted();

        var tokens = Assert.IsType<Tokens>(run.Result.Output("tokens", "tokens"));
        Assert.Equal(Ids("ti.input_ids"), tokens.Chunks.Single().Ids);
        var conditioning = Assert.IsType<Conditioning>(run.Result.Output("text", "conditioning"));
        AssertClose(Ref("ti.context"), conditioning.Embeddings.ToArray(), 1e-4, "both towers' hidden states with the embedding");
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        AssertClose(Ref("ti.text_embeds"), pooled.ToArray(), 1e-4, "text_embeds at the end-of-text token");
    }

    [Fact]
    public async Task Sd1_embedding_named_on_an_sdxl_model_is_refused_saying_what_sdxl_needs()
    {
        var run = await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(Data, "sd1-tiny", "embeddings"), "embedding:style-a1111 a red"), new Dictionary<string, object?>());
        var error = run.Result.Error ?? "";
        Assert.Contains("clip_l", error);
        Assert.Contains("style-a1111", error);
    }

    private static string Yaml(string embeddings, string prompt) => $"""
        flowdiffusion: 1
        name: sdxl-ti
        nodes:
          model:
            node: model.load
            with: {"{"} path: "{Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "{embeddings}" {"}"}
          tokens:
            node: clip.tokenize
            in: {"{"} tokenizer: model.tokenizer {"}"}
            with: {"{"} text: "{prompt}" {"}"}
          text:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens.tokens {"}"}
        """;

    private static int[] Ids(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "sdxl-tiny", "embedding-reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private static float[] Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "sdxl-tiny", "embedding-reference.safetensors"));
        return file.ReadFloat32(name);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (x, y) => (double)Math.Abs(x - y)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }
}
