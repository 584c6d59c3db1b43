using FlowDiffusion.Diffusion.Onnx;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class TextEncoderTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Colour_words_encode_to_their_analytic_embeddings()
    {
        var encoder = TextEncoder.Open(_cache, ModelFolder.Open(models.Default).TextEncoderPath!);
        var (start, end) = (models.TokenId("<|startoftext|>"), models.TokenId("<|endoftext|>"));
        var ids = Enumerable.Repeat(end, 2 * 77).ToArray();
        ids[0] = ids[77] = start;
        ids[1] = models.TokenId("red</w>");
        ids[77 + 1] = models.TokenId("cyan</w>");

        var hidden = encoder.Encode(ids, batch: 2);

        Assert.Equal(TensorElementType.Int32, encoder.IdsType);
        Assert.Equal([2, 77, 4], hidden.Shape);
        Assert.Equal([1f, 0f, 0f, 1f], hidden.Values.AsSpan(1 * 4, 4).ToArray());
        Assert.Equal([0f, 1f, 1f, 1f], hidden.Values.AsSpan((77 + 1) * 4, 4).ToArray());
        Assert.Equal(5f, hidden.Values.Sum()); // red (1,0,0,1) + cyan (0,1,1,1); every other token embeds to zero
        Assert.Equal(1, encoder.RunCount);
    }

    [Fact]
    public void Ids_that_do_not_split_into_the_batch_are_refused()
    {
        var encoder = TextEncoder.Open(_cache, ModelFolder.Open(models.Default).TextEncoderPath!);

        Assert.Throws<ArgumentException>(() => encoder.Encode(new int[77], batch: 2));
    }

    public void Dispose() => _cache.Dispose();
}
