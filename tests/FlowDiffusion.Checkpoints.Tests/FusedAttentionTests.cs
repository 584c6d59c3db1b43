using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TensorElementType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet's and the VAE's attention is ONNX Runtime's fused MultiHeadAttention (flash attention on the CPU). These
/// tests pin it against softmax(QKᵀ/√d)·V computed here in double precision, at sequence lengths long enough that the
/// CPU kernel works in several blocks of keys and queries (the tiny reference models stay within one block).
/// </summary>
public sealed class FusedAttentionTests
{
    [Theory]
    [InlineData(1100, 1100, 8, 40)] // SD 1.5's first level: 320 wide, 8 heads of 40; self-attention, uneven block count
    [InlineData(1100, 77, 8, 40)]   // cross-attention over a 77-token prompt
    [InlineData(600, 600, 1, 128)]  // the VAE's single-head middle attention
    public void Fused_attention_equals_softmax_of_scaled_scores_times_values(int queries, int keys, int heads, int headWidth)
    {
        var width = heads * headWidth;
        var g = new GraphBuilder("attention");
        var q = g.Input("q", TensorElementType.Float, 1, queries, width);
        var k = g.Input("k", TensorElementType.Float, 1, keys, width);
        var v = g.Input("v", TensorElementType.Float, 1, keys, width);
        g.Output(g.MultiHeadAttention(q, k, v, heads), "out", TensorElementType.Float, 1, queries, width);
        var model = g.Build("fused attention test");
        Assert.Contains(model.Graph.Nodes, n => n.OpType == "MultiHeadAttention" && n.Domain == OnnxModel.MicrosoftDomain);

        var random = new Random(11);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var qv = Values(queries * width);
        var kv = Values(keys * width);
        var vv = Values(keys * width);

        using var session = new InferenceSession(model.ToBytes());
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("q", new DenseTensor<float>(qv, [1, queries, width])),
            NamedOnnxValue.CreateFromTensor("k", new DenseTensor<float>(kv, [1, keys, width])),
            NamedOnnxValue.CreateFromTensor("v", new DenseTensor<float>(vv, [1, keys, width])),
        ]);
        var actual = results[0].AsTensor<float>().ToArray();

        var expected = Reference(qv, kv, vv, queries, keys, heads, headWidth);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-5, $"largest difference {worst:g3} (tolerance 1e-5)");
    }

    [Fact]
    public void Generated_unet_and_vae_use_the_fused_attention_and_the_text_encoder_keeps_its_causal_mask()
    {
        var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-fused-" + Guid.NewGuid().ToString("N"));
        try
        {
            RandomCheckpoint.Write(Sd1Layout.Tiny, scratch, seed: 0, shapesOnly: true);
            using var checkpoint = Sd1Checkpoint.Open(scratch);
            var unetGraph = checkpoint.BuildUNet().Graph;
            var unet = unetGraph.Nodes;
            var transformerBlocks = unetGraph.Initializers.Count(t => t.Name.EndsWith(".attn2.to_k.weight", StringComparison.Ordinal));
            var decoder = checkpoint.BuildVaeDecoder().Graph.Nodes;
            var text = checkpoint.BuildTextEncoder().Graph.Nodes;

            // Two attentions (self, cross) per transformer block; no unfused softmax left in the UNet or the VAE.
            Assert.True(transformerBlocks > 0);
            Assert.Equal(2 * transformerBlocks, unet.Count(n => n.OpType == "MultiHeadAttention"));
            Assert.DoesNotContain(unet, n => n.OpType == "Softmax");
            Assert.Equal(1, decoder.Count(n => n.OpType == "MultiHeadAttention"));
            Assert.DoesNotContain(decoder, n => n.OpType == "Softmax");
            Assert.Equal(checkpoint.TextEncoder!.Layers, text.Count(n => n.OpType == "Softmax"));
            Assert.DoesNotContain(text, n => n.OpType == "MultiHeadAttention");
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static double[] Reference(float[] q, float[] k, float[] v, int queries, int keys, int heads, int headWidth)
    {
        var width = heads * headWidth;
        var output = new double[queries * width];
        var scale = 1 / Math.Sqrt(headWidth);
        var scores = new double[keys];
        for (var h = 0; h < heads; h++)
        {
            for (var i = 0; i < queries; i++)
            {
                var max = double.NegativeInfinity;
                for (var j = 0; j < keys; j++)
                {
                    double dot = 0;
                    for (var d = 0; d < headWidth; d++)
                    {
                        dot += (double)q[i * width + h * headWidth + d] * k[j * width + h * headWidth + d];
                    }

                    scores[j] = dot * scale;
                    max = Math.Max(max, scores[j]);
                }

                double sum = 0;
                for (var j = 0; j < keys; j++)
                {
                    scores[j] = Math.Exp(scores[j] - max);
                    sum += scores[j];
                }

                for (var d = 0; d < headWidth; d++)
                {
                    double acc = 0;
                    for (var j = 0; j < keys; j++)
                    {
                        acc += scores[j] * v[j * width + h * headWidth + d];
                    }

                    output[i * width + h * headWidth + d] = acc / sum;
                }
            }
        }

        return output;
    }
}
