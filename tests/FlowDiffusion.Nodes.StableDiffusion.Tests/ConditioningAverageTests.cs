using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// conditioning.average (ComfyUI's ConditioningAverage) on tiny-sd's encodings of a one-window and a two-window prompt:
/// the weighted sum at to's length, from cut to it or padded with zero tokens.
/// </summary>
public sealed class ConditioningAverageTests
{
    [Fact]
    public async Task To_keeps_its_length_and_from_is_cut_or_padded_with_zeros()
    {
        const string yaml = """
            flowdiffusion: 1
            name: average
            nodes:
              model: { node: model.load, with: { path: models/tiny-sd } }
              short_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle } }
              long_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a cat BREAK a dog } }
              short: { node: clip.encode, in: { clip: model.clip, tokens: short_tokens.tokens } }
              long: { node: clip.encode, in: { clip: model.clip, tokens: long_tokens.tokens } }
              cut: { node: conditioning.average, in: { to: short.conditioning, from: long.conditioning }, with: { to_strength: 0.3 } }
              padded: { node: conditioning.average, in: { to: long.conditioning, from: short.conditioning }, with: { to_strength: 0.25 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var shortC = Assert.IsType<Conditioning>(run.Result.Output("short", "conditioning"));
        var longC = Assert.IsType<Conditioning>(run.Result.Output("long", "conditioning"));
        var cut = Assert.IsType<Conditioning>(run.Result.Output("cut", "conditioning"));
        var padded = Assert.IsType<Conditioning>(run.Result.Output("padded", "conditioning"));
        Assert.Equal((77, 154), (shortC.Tokens, longC.Tokens));

        Assert.Equal(77, cut.Tokens);
        for (var i = 0; i < 77 * cut.Dim; i++) Assert.Equal(0.3f * shortC.Embeddings[i] + 0.7f * longC.Embeddings[i], cut.Embeddings[i], 5);
        Assert.Equal(154, padded.Tokens);
        for (var i = 0; i < 154 * padded.Dim; i++)
        {
            var from = i < 77 * padded.Dim ? shortC.Embeddings[i] : 0;
            Assert.Equal(0.25f * longC.Embeddings[i] + 0.75f * from, padded.Embeddings[i], 5);
        }
    }
}
