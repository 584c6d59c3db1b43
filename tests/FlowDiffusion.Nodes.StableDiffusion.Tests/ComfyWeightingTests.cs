using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip.tokenize's comfyui syntax and clip.encode's ComfyUI weighting (its encode_token_weights): a token of weight w gets
/// e + w·(h − e), with h its unweighted hidden state and e the empty prompt's at the same position, every feature of both
/// SDXL towers; A1111's weighting (scaled, mean restored) gives something else. Checked on tiny-sd and the tiny SDXL
/// checkpoint against the encodings of the unweighted and the empty prompt.
/// </summary>
public sealed class ComfyWeightingTests
{
    private static readonly string SdxlCheckpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny", "sdxl-fp16.safetensors");

    [Theory]
    [InlineData("path: models/tiny-sd")]
    [InlineData("sdxl")]
    public async Task Weighted_tokens_interpolate_from_the_empty_prompts_hidden_states(string model)
    {
        var load = model == "sdxl" ? $"path: \"{SdxlCheckpoint}\", tokenizer_folder: models/tiny-sd/tokenizer" : model;
        var yaml = $$"""
            flowdiffusion: 1
            name: comfy weighting
            nodes:
              model: { node: model.load, with: { {{load}} } }
              weighted_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "((red:1.5)) circle (on blue:0.6)", syntax: comfyui } }
              plain_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "red circle on blue", syntax: comfyui } }
              empty_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "", syntax: comfyui } }
              a1111_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "((red:1.5)) circle (on blue:0.6)" } }
              weighted: { node: clip.encode, in: { clip: model.clip, tokens: weighted_tokens.tokens } }
              plain: { node: clip.encode, in: { clip: model.clip, tokens: plain_tokens.tokens } }
              empty: { node: clip.encode, in: { clip: model.clip, tokens: empty_tokens.tokens } }
              a1111: { node: clip.encode, in: { clip: model.clip, tokens: a1111_tokens.tokens } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var tokens = Assert.IsType<Tokens>(run.Result.Output("weighted_tokens", "tokens"));
        var weights = tokens.Chunks[0].Weights;
        Assert.Equal(Assert.IsType<Tokens>(run.Result.Output("plain_tokens", "tokens")).Chunks[0].Ids, tokens.Chunks[0].Ids);
        Assert.Contains(1.5f, weights);
        Assert.Contains(0.6f, weights);

        var weighted = Assert.IsType<Conditioning>(run.Result.Output("weighted", "conditioning"));
        var h = Assert.IsType<Conditioning>(run.Result.Output("plain", "conditioning")).Embeddings.ToArray();
        var e = Assert.IsType<Conditioning>(run.Result.Output("empty", "conditioning")).Embeddings.ToArray();
        var dim = weighted.Dim;
        var moved = 0.0;
        for (var t = 0; t < weights.Count; t++)
        for (var i = 0; i < dim; i++)
        {
            var k = (t * dim) + i;
            var expected = e[k] + (weights[t] * (h[k] - e[k]));
            Assert.True(Math.Abs(weighted.Embeddings[k] - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"token {t} (weight {weights[t]}), feature {i}: {weighted.Embeddings[k]} vs {expected}");
            moved = Math.Max(moved, Math.Abs(expected - h[k]));
        }

        Assert.True(moved > 1e-3, $"the weights moved the hidden states by at most {moved}");
        var a1111 = Assert.IsType<Conditioning>(run.Result.Output("a1111", "conditioning")).Embeddings.ToArray();
        Assert.True(a1111.Zip(weighted.Embeddings.ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "A1111's weighting gave ComfyUI's result");
    }
}
