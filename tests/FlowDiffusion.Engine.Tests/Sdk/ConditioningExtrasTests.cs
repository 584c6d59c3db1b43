using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Engine.Tests.Sdk;

/// <summary>The SDK's conditioning extras: typed keys, immutable sets, and how a batched call combines them.</summary>
public sealed class ConditioningExtrasTests
{
    private static readonly ExtraKey<ExtraTensor> Pooled = ExtraKey.Tensor("test.pooled");
    private static readonly ExtraKey<string> Mode = ExtraKey.Shared<string>("test.mode");

    [Fact]
    public void Batched_fills_rows_in_order_repeating_batch_one_parts_for_embeddings_and_tensor_extras()
    {
        // negative: batch 1, one token [9, 9]; positive: batch 2, tokens [1, 2] and [3, 4].
        var negative = new Conditioning(1, 1, 2, [9, 9]).With(Pooled, new ExtraTensor([1, 3], [-1, -2, -3]));
        var positive = new Conditioning(2, 1, 2, [1, 2, 3, 4]).With(Pooled, new ExtraTensor([2, 3], [1, 2, 3, 4, 5, 6]));

        var batched = Conditioning.Batched([new(negative, 2), new(positive, 2)]);

        Assert.Equal((4, 1, 2), (batched.Batch, batched.Tokens, batched.Dim));
        Assert.Equal([9, 9, 9, 9, 1, 2, 3, 4], batched.ToArray());
        var pooled = batched.Extras.Get(Pooled);
        Assert.Equal([4, 3], pooled.Shape);
        Assert.Equal([-1, -2, -3, -1, -2, -3, 1, 2, 3, 4, 5, 6], pooled.ToArray());
    }

    [Fact]
    public void Batched_repeats_a_shorter_prompts_last_77_token_window()
    {
        var shortPrompt = new Conditioning(1, 77, 1, [.. Enumerable.Range(0, 77).Select(i => (float)i)]);
        var longPrompt = new Conditioning(1, 154, 1, new float[154]);

        var batched = Conditioning.Batched([new(shortPrompt, 1), new(longPrompt, 1)]);

        Assert.Equal(154, batched.Tokens);
        Assert.Equal(76f, batched.EmbeddingsOf(0)[153]);
        Assert.Equal(0f, batched.EmbeddingsOf(0)[77]);
    }

    [Fact]
    public void A_tensor_kind_missing_on_one_conditioning_is_an_error_naming_it()
    {
        var negative = new Conditioning(1, 1, 2, [0, 0]);
        var positive = new Conditioning(1, 1, 2, [1, 1]).With(Pooled, new ExtraTensor([1, 1], [5]));

        var error = Assert.Throws<ArgumentException>(() => Conditioning.Batched([new(negative, 1), new(positive, 1)]));

        Assert.StartsWith("extra 'test.pooled': conditioning 1 of 2 in this batched call lacks a tensor extra", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shared_kind_passes_when_equal_and_fails_when_it_differs()
    {
        var a = new Conditioning(1, 1, 1, [0]).With(Mode, "soft");
        var b = new Conditioning(1, 1, 1, [1]).With(Mode, "soft");
        var c = new Conditioning(1, 1, 1, [1]).With(Mode, "hard");

        Assert.Equal("soft", Conditioning.Batched([new(a, 1), new(b, 1)]).Extras.Get(Mode));
        var error = Assert.Throws<ArgumentException>(() => Conditioning.Batched([new(a, 1), new(c, 1)]));
        Assert.Contains("'test.mode' must be the same on every conditioning", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_custom_combiner_sees_each_part_with_its_rows_and_null_where_absent()
    {
        IReadOnlyList<ExtraPart<string>>? seen = null;
        var key = new ExtraKey<string>("test.custom", parts => { seen = parts; return "combined"; });
        var with = new Conditioning(1, 1, 1, [0]).With(key, "x");
        var without = new Conditioning(1, 1, 1, [0]);

        var batched = Conditioning.Batched([new(without, 3), new(with, 3)]);

        Assert.Equal("combined", batched.Extras.Get(key));
        Assert.Equal([new ExtraPart<string>(null, 3), new ExtraPart<string>("x", 3)], seen);
    }

    [Fact]
    public void Extras_are_immutable_and_matched_by_name_and_type()
    {
        var empty = Extras.Empty;
        var one = empty.With(Pooled, new ExtraTensor([1], [1]));
        var sameNameOtherType = ExtraKey.Shared<string>("test.pooled");

        Assert.True(empty.IsEmpty);
        Assert.Equal(["test.pooled"], one.Names);
        Assert.True(one.Contains(sameNameOtherType));
        Assert.False(one.Without(Pooled).Contains(Pooled));
        var cast = Assert.Throws<InvalidCastException>(() => one.TryGet(sameNameOtherType, out _));
        Assert.Contains("'test.pooled' holds a FlowDiffusion.Sdk.Values.ExtraTensor", cast.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<KeyNotFoundException>(() => empty.Get(Pooled));
        Assert.Equal("no extra 'test.pooled' on this input (it has none); connect the node that adds it", missing.Message);
    }

    [Fact]
    public void A_conditioning_with_an_extra_shares_its_embeddings_and_leaves_the_original_unchanged()
    {
        var plain = new Conditioning(1, 1, 2, [1, 2]);

        var extended = plain.With(Mode, "soft");

        Assert.True(plain.Extras.IsEmpty);
        Assert.Equal("soft", extended.Extras.Get(Mode));
        Assert.True(plain.Embeddings == extended.Embeddings);
    }

    [Fact]
    public void Denoiser_input_extras_default_to_the_contexts_and_a_wrapper_can_replace_them()
    {
        var context = new Conditioning(1, 1, 1, [0]).With(Mode, "soft");
        var input = new DenoiserInput(new float[4], new LatentShape(1, 4, 1, 1), 10, context);

        var inner = input with { Extras = input.Extras.Without(Mode) };

        Assert.Equal("soft", input.Extras.Get(Mode));
        Assert.True(inner.Extras.IsEmpty);
        Assert.Same(context, inner.Context);
    }

    [Fact]
    public async Task A_denoiser_without_an_in_place_prediction_gets_the_default_that_copies_and_checks_the_length()
    {
        IDenoiser denoiser = new Doubling();
        var input = new DenoiserInput(new float[] { 1, 2, 3, 4 }, new LatentShape(1, 4, 1, 1), 10, new Conditioning(1, 1, 1, [0]));
        var prediction = new float[4];

        await denoiser.PredictAsync(input, prediction, CancellationToken.None);

        Assert.Equal([2, 4, 6, 8], prediction);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => denoiser.PredictAsync(input, new float[8], CancellationToken.None));
        Assert.Equal("the denoiser predicted 4 values where 8 were expected (1 × 4 × 1 × 1)", error.Message);
    }

    private sealed class Doubling : IDenoiser
    {
        public int InChannels => 4;

        public Task<float[]> PredictAsync(DenoiserInput input, CancellationToken cancellationToken) =>
            Task.FromResult(input.Sample.ToArray().Select(v => 2 * v).ToArray());
    }
}
