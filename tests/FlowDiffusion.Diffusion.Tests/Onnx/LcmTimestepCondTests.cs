using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// An LCM-distilled UNet's <c>timestep_cond</c> (issue 17 item 4): detected at load, fed the guidance-scale embedding,
/// whose values come from diffusers' <c>get_guidance_scale_embedding</c> evaluated by torch.
/// </summary>
public sealed class LcmTimestepCondTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    // torch 2.x, float32: LatentConsistencyModelPipeline.get_guidance_scale_embedding(tensor([w - 1]), embedding_dim)
    // for w = 8 (LCM Dreamshaper's default) and width 256 at these indices, and for w = 1.5 and width 8 in full.
    private static readonly (int Index, float Value)[] TorchScale8Width256 =
    [
        (0, 0.5068854093551636f), (1, 0.8042871356010437f), (2, -0.8604797124862671f), (63, -0.3223614990711212f),
        (127, 0.6442176103591919f), (128, 0.8620134592056274f), (129, 0.5942408442497253f), (200, 0.9958349466323853f),
        (255, 0.7648422122001648f),
    ];

    private static readonly float[] TorchScale15Width8 =
    [
        -0.4677717983722687f, -0.9379929304122925f, 0.880642831325531f, 0.049979161471128464f,
        -0.8838492631912231f, -0.34665435552597046f, 0.47378072142601013f, 0.9987502694129944f,
    ];

    // The float32 angle (w − 1)·1000·f_i reaches 7,000 rad, where one float32 ulp is 4.9e-4 rad: an exp that differs from
    // torch's by one ulp moves the sine by that much.
    private const float Tolerance = 1e-3f;

    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Guidance_scale_embedding_matches_torch_for_lcm_dreamshapers_width_and_scale()
    {
        var embedding = GuidanceScaleEmbedding.Compute(8f, 256);

        Assert.Equal(256, embedding.Length);
        foreach (var (index, value) in TorchScale8Width256) Assert.InRange(embedding[index], value - Tolerance, value + Tolerance);
        Assert.Equal(TorchScale15Width8, GuidanceScaleEmbedding.Compute(1.5f, 8), (a, b) => Math.Abs(a - b) <= Tolerance);
        // Scale 1 embeds 0: sines 0, cosines 1.
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], GuidanceScaleEmbedding.Compute(1f, 6));
        // An odd width is zero-padded, as diffusers pads it.
        Assert.Equal(0f, GuidanceScaleEmbedding.Compute(8f, 9)[8]);
    }

    [Fact]
    public void Lcm_unet_is_detected_at_load_and_its_output_follows_the_fed_embedding()
    {
        using var unet = UNet.Open(_cache, WriteLcmUnet());
        var shape = new LatentShape(2, 4, 2, 2);
        var sample = Enumerable.Range(0, shape.Length).Select(i => i * 0.25f).ToArray();
        var embedding = GuidanceScaleEmbedding.Compute(1.5f, 8);
        var rows = embedding.Concat(embedding).ToArray();

        var prediction = new float[shape.Length];
        unet.Predict(sample, shape, [499f], new float[2 * 3 * 8], 3, default, default, rows, prediction);

        Assert.Equal(8, unet.GuidanceEmbeddingWidth);
        // out_sample = sample + (timestep_cond · W) per channel, with the torch embedding in place of ours.
        for (var b = 0; b < 2; b++)
        {
            for (var c = 0; c < 4; c++)
            {
                var projected = 0.0;
                for (var k = 0; k < 8; k++) projected += TorchScale15Width8[k] * Weight(k, c);
                for (var p = 0; p < 4; p++)
                {
                    var i = (((b * 4) + c) * 4) + p;
                    Assert.InRange(prediction[i], sample[i] + projected - 4 * Tolerance, sample[i] + projected + 4 * Tolerance);
                }
            }
        }
    }

    [Fact]
    public void Lcm_unet_called_without_the_embedding_says_it_needs_timestep_cond()
    {
        using var unet = UNet.Open(_cache, WriteLcmUnet());
        var shape = new LatentShape(1, 4, 2, 2);

        var error = Assert.Throws<ArgumentException>(() => unet.Predict(new float[shape.Length], shape, [499f], new float[3 * 8], 3, new float[shape.Length]));

        Assert.Contains("LCM-distilled", error.Message);
        Assert.Contains("timestep_cond [1, 8]", error.Message);
    }

    public void Dispose() => _cache.Dispose();

    private static float Weight(int k, int c) => ((k * 4) + c + 1) * 0.125f * (((k + c) % 2 == 0) ? 1 : -1);

    // A UNet with diffusers' inputs and timestep_cond [batch, 8]: out_sample = sample + reshape(timestep_cond · W, [B, 4, 1, 1]).
    private string WriteLcmUnet()
    {
        var g = new GraphBuilder("lcm_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "height", "width");
        g.Input("timestep", OnnxType.Float, "batch");
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        var cond = g.Input("timestep_cond", OnnxType.Float, "batch", 8);
        var weight = g.Weight("time_embedding.cond_proj.weight", [.. Enumerable.Range(0, 32).Select(i => Weight(i / 4, i % 4))], 8, 4);
        var projected = g.Reshape(g.MatMul(cond, weight), -1, 4, 1, 1);
        g.Output(g.Add(sample, projected), "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        var folder = Path.Combine(models.Root, "lcm-unet");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(path, g.Build("lcm_unet").ToBytes());
        return path;
    }
}
