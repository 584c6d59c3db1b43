using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.concat and latent.cut (ComfyUI's LatentConcat and LatentCut) on seeded noise latents, every value checked
/// against the definition read position by position: torch.cat of samples1 and samples2 (samples2's item b being item
/// b mod its batch, ComfyUI's repeat_to_batch_size) along x (width), y (height) or t (an image latent's channels), and
/// torch.narrow from ComfyUI's clamped index and amount; latent.cut_to_batch (LatentCutToBatch) by where each slice's
/// values came from.
/// </summary>
public sealed class LatentConcatCutTests
{
    // a: [2, 4, 8, 12]; wide: [3, 4, 8, 5] (cut to a's batch of 2); flat: [1, 4, 3, 12] (repeated); one: [1, 4, 8, 12].
    private const string Sources = """
          a: { node: latent.noise, with: { width: 96, height: 64, seed: 4, batch: 2 } }
          wide: { node: latent.noise, with: { width: 40, height: 64, seed: 7, batch: 3 } }
          flat: { node: latent.noise, with: { width: 96, height: 24, seed: 9, batch: 1 } }
          one: { node: latent.noise, with: { width: 96, height: 64, seed: 11, batch: 1 } }
        """;

    [Theory]
    [InlineData("x", "wide")]
    [InlineData("-x", "wide")]
    [InlineData("y", "flat")]
    [InlineData("-y", "flat")]
    [InlineData("t", "one")]
    [InlineData("-t", "one")]
    public async Task Concat_joins_samples2_repeated_to_samples1s_batch_along_the_dimension(string dim, string second)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: concat
            nodes:
            {{Sources}}
              joined: { node: latent.concat, in: { samples1: a.noise, samples2: {{second}}.noise }, with: { dim: "{{dim}}" } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Latent first = run.Latent("a", "noise"), other = run.Latent(second, "noise"), joined = run.Latent("joined", "concatenated");
        var axis = dim.TrimStart('-') switch { "x" => 3, "y" => 2, _ => 1 };
        var reversed = dim.StartsWith('-');
        var (lead, trail) = reversed ? (other, first) : (first, other);
        var expectedShape = Shape(first);
        expectedShape[axis] += Shape(other)[axis];
        Assert.Equal(expectedShape, Shape(joined));
        Assert.Equal(first.Seeds, joined.Seeds);
        Assert.Equal(first.NoiseIndices, joined.NoiseIndices);
        foreach (var at in Positions(joined))
        {
            var leadLength = Shape(lead)[axis];
            var source = at[axis] < leadLength ? lead : trail;
            var from = (int[])at.Clone();
            if (at[axis] >= leadLength) from[axis] -= leadLength;
            from[0] %= source.Batch;
            Assert.Equal(Value(source, from), Value(joined, at));
        }
    }

    [Theory]
    [InlineData("x", 3, 4, 3, 4)]
    [InlineData("x", 20, 5, 11, 1)]
    [InlineData("x", 10, 16384, 10, 2)]
    [InlineData("x", -4, 100, 8, 4)]
    [InlineData("x", -30, 2, 0, 2)]
    [InlineData("y", -3, 1, 5, 1)]
    [InlineData("y", 0, 8, 0, 8)]
    [InlineData("y", 7, 3, 7, 1)]
    [InlineData("t", 1, 2, 1, 2)]
    [InlineData("t", -1, 5, 3, 1)]
    public async Task Cut_keeps_amount_positions_from_the_clamped_index(string dim, int index, int amount, int start, int length)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: cut
            nodes:
            {{Sources}}
              cut: { node: latent.cut, in: { samples: a.noise }, with: { dim: {{dim}}, index: {{index}}, amount: {{amount}} } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Latent latent = run.Latent("a", "noise"), cut = run.Latent("cut", "cut");
        var axis = dim switch { "x" => 3, "y" => 2, _ => 1 };
        var expectedShape = Shape(latent);
        expectedShape[axis] = length;
        Assert.Equal(expectedShape, Shape(cut));
        Assert.Equal(latent.Seeds, cut.Seeds);
        foreach (var at in Positions(cut))
        {
            var from = (int[])at.Clone();
            from[axis] += start;
            Assert.Equal(Value(latent, from), Value(cut, at));
        }
    }

    [Theory]
    [InlineData("x", 4, 3, 4)]
    [InlineData("x", 5, 2, 5)]
    [InlineData("x", 40, 1, 12)]
    [InlineData("y", 1, 8, 1)]
    [InlineData("y", 3, 2, 3)]
    public async Task Cut_to_batch_makes_each_slice_an_item_after_its_items_earlier_slices(string dim, int size, int count, int slice)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: cut-to-batch
            nodes:
            {{Sources}}
              cut: { node: latent.cut_to_batch, in: { samples: a.noise }, with: { dim: {{dim}}, slice_size: {{size}} } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Latent latent = run.Latent("a", "noise"), cut = run.Latent("cut", "batched");
        var axis = dim == "x" ? 3 : 2;
        var expectedShape = Shape(latent);
        expectedShape[0] *= count;
        expectedShape[axis] = slice;
        Assert.Equal(expectedShape, Shape(cut));
        Assert.Equal(count == 1 ? latent.Seeds : null, cut.Seeds);
        foreach (var at in Positions(cut))
        {
            var from = (int[])at.Clone();
            from[0] = at[0] / count;
            from[axis] += at[0] % count * slice;
            Assert.Equal(Value(latent, from), Value(cut, at));
        }
    }

    [Fact]
    public async Task Cut_to_batch_along_t_passes_the_latents_and_refuses_noise_indices_it_cannot_follow()
    {
        var same = (await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: cut-to-batch-t
            nodes:
            {{Sources}}
              same: { node: latent.cut_to_batch, in: { samples: a.noise }, with: { dim: t, slice_size: 2 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        Latent source = same.Latent("a", "noise"), passed = same.Latent("same", "batched");
        Assert.Equal(Shape(source), Shape(passed));
        Assert.Equal(source.Values.ToArray(), passed.Values.ToArray());

        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: cut-to-batch-indices
            nodes:
            {{Sources}}
              picked: { node: latent.from_batch, in: { latent: a.noise }, with: { batch_index: 1, length: 1 } }
              cut: { node: latent.cut_to_batch, in: { samples: picked.items }, with: { dim: x, slice_size: 6 } }
            """, new Dictionary<string, object?>());
        Assert.Equal(("cut", RunStatus.Failed), (run.Result.FailedNode, run.Result.Status));
        Assert.Contains("samples carries noise indices (ComfyUI's batch_index) for its 1 items, which 2 slices would not match", run.Result.Error);
    }

    [Fact]
    public async Task Concat_of_latents_differing_across_the_dimension_fails_naming_samples2()
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: mismatch
            nodes:
            {{Sources}}
              joined: { node: latent.concat, in: { samples1: a.noise, samples2: flat.noise }, with: { dim: x } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(("joined", RunStatus.Failed), (run.Result.FailedNode, run.Result.Status));
        Assert.Contains("samples2 is [1, 4, 3, 12] and samples1 [2, 4, 8, 12]", run.Result.Error);
    }

    private static int[] Shape(Latent latent) => [latent.Batch, latent.Channels, latent.Height, latent.Width];

    private static float Value(Latent latent, int[] at) =>
        latent.Values[((at[0] * latent.Channels + at[1]) * latent.Height + at[2]) * latent.Width + at[3]];

    private static IEnumerable<int[]> Positions(Latent latent)
    {
        for (var b = 0; b < latent.Batch; b++)
        for (var c = 0; c < latent.Channels; c++)
        for (var y = 0; y < latent.Height; y++)
        for (var x = 0; x < latent.Width; x++)
            yield return [b, c, y, x];
    }
}
