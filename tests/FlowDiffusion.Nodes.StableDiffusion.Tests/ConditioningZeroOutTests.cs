using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// conditioning.zero_out (ComfyUI's ConditioningZeroOut) on the tiny SDXL checkpoint's encoding: zero text embeddings and
/// pooled embedding of the same shapes, the size conditioning kept.
/// </summary>
public sealed class ConditioningZeroOutTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Fact]
    public async Task Embeddings_and_pooled_embedding_become_zero_and_the_size_conditioning_stays()
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: zero out
            nodes:
              model: { node: model.load, with: { path: "{{Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors")}}", tokenizer_folder: models/tiny-sd/tokenizer } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle } }
              text: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              sized: { node: conditioning.sdxl_size, in: { conditioning: text.conditioning }, with: { original_width: 640, original_height: 512, target_width: 640, target_height: 512 } }
              zero: { node: conditioning.zero_out, in: { conditioning: sized.conditioning_out } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var sized = Assert.IsType<Conditioning>(run.Result.Output("sized", "conditioning_out"));
        var zero = Assert.IsType<Conditioning>(run.Result.Output("zero", "zeroed"));

        Assert.Equal((sized.Batch, sized.Tokens, sized.Dim), (zero.Batch, zero.Tokens, zero.Dim));
        Assert.Contains(sized.Embeddings.ToArray(), v => v != 0);
        Assert.All(zero.Embeddings.ToArray(), v => Assert.Equal(0f, v));
        Assert.True(sized.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        Assert.True(zero.Extras.TryGet(StandardExtras.PooledText, out var zeroPooled));
        Assert.Equal(pooled.Shape, zeroPooled.Shape);
        Assert.Contains(pooled.ToArray(), v => v != 0);
        Assert.All(zeroPooled.ToArray(), v => Assert.Equal(0f, v));
        Assert.True(sized.Extras.TryGet(StandardExtras.TimeIds, out var timeIds));
        Assert.True(zero.Extras.TryGet(StandardExtras.TimeIds, out var kept));
        Assert.Equal(timeIds.ToArray(), kept.ToArray());
        Assert.Equal(sized.Extras.Names, zero.Extras.Names);
    }
}
