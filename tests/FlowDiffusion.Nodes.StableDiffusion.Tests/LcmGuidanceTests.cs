using System.Globalization;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// An LCM-distilled UNet (one with <c>timestep_cond</c>) guided by guidance.cfg: the scale reaches the UNet as the
/// guidance-scale embedding and the positive conditioning is evaluated alone, as diffusers' LCM pipeline runs it.
/// </summary>
public sealed class LcmGuidanceTests : IDisposable
{
    // torch, float32: LatentConsistencyModelPipeline.get_guidance_scale_embedding(tensor([w − 1]), 8) for w = 1.5 and 3.
    private static readonly float[] TorchScale15 = [-0.4677717983722687f, -0.9379929304122925f, 0.880642831325531f, 0.049979161471128464f, -0.8838492631912231f, -0.34665435552597046f, 0.47378072142601013f, 0.9987502694129944f];
    private static readonly float[] TorchScale3 = [0.9300395250320435f, -0.9880441427230835f, -0.9196847081184387f, 0.19866929948329926f, -0.36745956540107727f, 0.1541711986064911f, -0.39265769720077515f, 0.9800665974617004f];

    private const string Workflow = """
        flowdiffusion: 1
        name: lcm
        inputs:
          model: { type: string }
          cfg: { type: float }
        nodes:
          model: { node: model.load, with: { path: $model } }
          pos_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle } }
          neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: pos_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: negative.conditioning }, with: { scale: $cfg } }
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: lcm, steps: 1 } }
          noise: { node: latent.noise, with: { seed: 5, width: 64, height: 64 } }
          sample: { node: diffusion.sample, in: { guider: guider.guider, schedule: schedule.schedule, noise: noise.noise } }
        """;

    private readonly TempFolder _folder = new();

    [Fact]
    public async Task Cfg_scale_reaches_an_lcm_unet_as_its_guidance_embedding_with_the_positive_half_alone()
    {
        var model = LcmModel();
        using var engine = new SdEngine();

        var low = (await engine.RunYamlAsync(Workflow, Inputs(model, 1.5))).AssertCompleted().Latent();
        var high = (await engine.RunYamlAsync(Workflow, Inputs(model, 3))).AssertCompleted().Latent();

        // One LCM step at t = 999 ends at c_skip·x + c_out·(x − √(1 − ᾱ)·ε)/√ᾱ, so with the same noise x the two runs
        // differ by −c_out·√(1 − ᾱ)/√ᾱ · (ε₁ − ε₂). The UNet's ε is W·timestep_cond per channel plus 10 × a mean of its
        // text conditioning: a positive-only call leaves only the embeddings' difference, while a batch-2 CFG call would
        // add 10·(s₁ − s₂)·(mean(positive) − mean(negative)).
        var alphaBar = AlphaBar999();
        var cOut = 9990.0 / Math.Sqrt((9990.0 * 9990.0) + 0.25);
        var factor = -cOut * Math.Sqrt(1 - alphaBar) / Math.Sqrt(alphaBar);
        var pixels = low.Height * low.Width;
        for (var c = 0; c < 4; c++)
        {
            var expected = 0.0;
            for (var k = 0; k < 8; k++) expected += (TorchScale15[k] - TorchScale3[k]) * Weight(k, c);
            expected *= factor;
            for (var p = 0; p < pixels; p++)
            {
                var i = (c * pixels) + p;
                var difference = low.Values[i] - high.Values[i];
                // The embeddings' float32 angles (up to 2,000 rad) carry ~1e-4 of rounding; ×|factor| ≈ 157 and the sum over 8.
                Assert.True(Math.Abs(difference - expected) <= 0.05 + (1e-3 * Math.Abs(expected)), $"channel {c} pixel {p}: the runs differ by {difference}, expected {expected}");
            }
        }
    }

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, object?> Inputs(string model, double cfg) => new()
    {
        ["model"] = model,
        ["cfg"] = cfg.ToString(CultureInfo.InvariantCulture),
    };

    private static float Weight(int k, int c) => ((k * 4) + c + 1) * 0.125f * (((k + c) % 2 == 0) ? 1 : -1);

    // SD's scaled_linear betas (tiny-sd's scheduler config): ᾱ at the last training timestep.
    private static double AlphaBar999()
    {
        double product = 1;
        for (var i = 0; i < 1000; i++)
        {
            var beta = Math.Pow(Math.Sqrt(0.00085) + (i / 999.0 * (Math.Sqrt(0.012) - Math.Sqrt(0.00085))), 2);
            product *= 1 - beta;
        }
        return product;
    }

    // tiny-sd with its UNet replaced by an LCM-shaped one: out_sample = 0·sample + W·timestep_cond + 10·(the first feature's mean over the tokens).
    private string LcmModel()
    {
        var folder = Path.Combine(_folder.Path, "lcm-sd");
        foreach (var file in Directory.EnumerateFiles(RepositoryRoot.Model("tiny-sd"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(folder, Path.GetRelativePath(RepositoryRoot.Model("tiny-sd"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!file.StartsWith(Path.Combine(RepositoryRoot.Model("tiny-sd"), "unet"), StringComparison.Ordinal)) File.Copy(file, target);
        }

        var g = new GraphBuilder("lcm_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "height", "width");
        g.Input("timestep", OnnxType.Float, "batch");
        var hidden = g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", "width");
        var cond = g.Input("timestep_cond", OnnxType.Float, "batch", 8);
        var weight = g.Weight("time_embedding.cond_proj.weight", [.. Enumerable.Range(0, 32).Select(i => Weight(i / 4, i % 4))], 8, 4);
        var projected = g.Reshape(g.MatMul(cond, weight), -1, 4, 1, 1);
        // The first feature of the text conditioning averaged over its tokens (a layer-normed feature vector's mean would not vary).
        var feature = g.Node("ReduceMean", [g.Slice(hidden, [0], [1], [2])], OnnxAttribute.Ints("axes", [1, 2]), OnnxAttribute.Int("keepdims", 0));
        var text = g.Mul(g.Reshape(feature, -1, 1, 1, 1), g.Scalar(10f));
        var output = g.Add(g.Add(g.Mul(sample, g.Scalar(0f)), projected), text);
        g.Output(output, "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        Directory.CreateDirectory(Path.Combine(folder, "unet"));
        File.WriteAllBytes(Path.Combine(folder, "unet", "model.onnx"), g.Build("lcm_unet").ToBytes());
        File.Copy(Path.Combine(RepositoryRoot.Model("tiny-sd"), "unet", "config.json"), Path.Combine(folder, "unet", "config.json"));
        return folder;
    }
}
