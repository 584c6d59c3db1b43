using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip.encode with tokens_g: SDXL's towers take different prompts (ComfyUI's text_l and text_g) on the tiny SDXL
/// checkpoint, against torch within 1e-4 (tools/reference/make_sdxl_dual_prompt.py) — CLIP ViT-L's windows from tokens,
/// OpenCLIP's and the pooled projection from tokens_g, each tower weighted by its own prompt, and the prompt with fewer
/// windows padded with the empty prompt's window, whichever it is.
/// </summary>
public sealed class SdxlDualPromptTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Theory]
    [InlineData("short_l", "green", "a (red:1.3) circle BREAK blue square")]
    [InlineData("short_g", "black BREAK (green:0.8) circle", "blue square")]
    public async Task Each_tower_encodes_its_own_prompt_and_the_shorter_is_padded_with_empty_windows_as_torch_does(string reference, string textL, string textG)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(textL, textG), new Dictionary<string, object?>())).AssertCompleted();

        var l = Assert.IsType<Tokens>(run.Result.Output("tokens_l", "tokens"));
        var g = Assert.IsType<Tokens>(run.Result.Output("tokens_g", "tokens"));
        var ids = Ids(reference + ".input_ids");
        var idsG = Ids(reference + ".input_ids_g");
        // The tokenizer gives the reference's windows; the encoder pads the shorter prompt, not the tokenizer.
        Assert.Equal(ids[..(l.Chunks.Count * 77)], l.Chunks.SelectMany(c => c.Ids));
        Assert.Equal(idsG[..(g.Chunks.Count * 77)], g.Chunks.SelectMany(c => c.Ids));
        Assert.NotEqual(l.Chunks.Count, g.Chunks.Count);

        var conditioning = Assert.IsType<Conditioning>(run.Result.Output("text", "conditioning"));
        Assert.Equal((1, 154, 64), (conditioning.Batch, conditioning.Tokens, conditioning.Dim));
        AssertClose(Ref(reference + ".context"), conditioning.Embeddings.ToArray(), 1e-4, "both towers' hidden states, padded to two windows");
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        AssertClose(Ref(reference + ".text_embeds"), pooled.ToArray(), 1e-4, "text_embeds from text_g's first window");

        // The same prompt in both towers is what tokens alone gives (text_g differs, so the context must too).
        var single = Assert.IsType<Conditioning>(run.Result.Output("single", "conditioning"));
        var both = Assert.IsType<Conditioning>(run.Result.Output("same", "conditioning"));
        Assert.Equal(single.Embeddings.ToArray(), both.Embeddings.ToArray());
        Assert.NotEqual(single.Embeddings.ToArray(), conditioning.Embeddings.ToArray());
    }

    [Fact]
    public async Task Tokens_g_on_an_sd1_model_is_refused_naming_tokens_g()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sd1-tokens-g
            nodes:
              model: {"{"} node: model.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
              tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: model.tokenizer {"}"}, with: {"{"} text: a red circle {"}"} {"}"}
              text: {"{"} node: clip.encode, in: {"{"} clip: model.clip, tokens: tokens.tokens, tokens_g: tokens.tokens {"}"} {"}"}
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Contains("tokens_g", run.Result.Error ?? "");
    }

    private static string Yaml(string textL, string textG) => $"""
        flowdiffusion: 1
        name: sdxl-dual-prompt
        nodes:
          model:
            node: model.load
            with: {"{"} path: "{Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
          tokens_l:
            node: clip.tokenize
            in: {"{"} tokenizer: model.tokenizer {"}"}
            with: {"{"} text: "{textL}" {"}"}
          tokens_g:
            node: clip.tokenize
            in: {"{"} tokenizer: model.tokenizer {"}"}
            with: {"{"} text: "{textG}" {"}"}
          text:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens_l.tokens, tokens_g: tokens_g.tokens {"}"}
          single:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens_g.tokens {"}"}
          same:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens_g.tokens, tokens_g: tokens_g.tokens {"}"}
        """;

    private static int[] Ids(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "sdxl-tiny", "dual-prompt-reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private static float[] Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "sdxl-tiny", "dual-prompt-reference.safetensors"));
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
