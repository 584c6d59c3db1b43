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

    [Fact]
    public async Task Combined_positives_reach_an_lcm_unet_each_with_the_embedding_and_are_averaged()
    {
        var model = LcmModel();
        using var engine = new SdEngine();

        var red = (await engine.RunYamlAsync(CombinedWorkflow("first"), Inputs(model, 3))).AssertCompleted().Latent();
        var blue = (await engine.RunYamlAsync(CombinedWorkflow("second"), Inputs(model, 3))).AssertCompleted().Latent();
        var both = (await engine.RunYamlAsync(CombinedWorkflow("combined"), Inputs(model, 3))).AssertCompleted().Latent();

        // One LCM step is affine in ε, and the combined ε is the mean of its parts' (each with the same embedding), so the
        // combined latent is the mean of the parts' latents. The parts differ through their text feature (×10 in ε).
        var spread = 0.0;
        for (var i = 0; i < red.Values.Length; i++) spread = Math.Max(spread, Math.Abs(red.Values[i] - blue.Values[i]));
        Assert.True(spread > 1, $"the two prompts' latents differ by at most {spread}; the test could not tell them apart");
        for (var i = 0; i < both.Values.Length; i++)
        {
            var mean = (red.Values[i] + blue.Values[i]) / 2;
            Assert.True(Math.Abs(both.Values[i] - mean) <= 1e-3 * (1 + Math.Abs(mean)), $"value {i}: combined {both.Values[i]}, mean of the parts {mean}");
        }
    }

    [Fact]
    public async Task A_third_party_denoiser_wrapper_passes_the_lcm_guidance_embedding_through()
    {
        var model = LcmModel();
        using var engine = new SdEngine(RepositoryRoot.ConditioningPlugins);
        var wrapped = Workflow
            .Replace("  guider:", "  wrapper: { node: test.extra_tokens_denoiser, in: { denoiser: denoiser.denoiser } }\n  guider:", StringComparison.Ordinal)
            .Replace("in: { denoiser: denoiser.denoiser, positive:", "in: { denoiser: wrapper.wrapped, positive:", StringComparison.Ordinal);
        Assert.Contains("wrapper.wrapped", wrapped, StringComparison.Ordinal);

        var plain = (await engine.RunYamlAsync(Workflow, Inputs(model, 3))).AssertCompleted().Latent();
        var through = (await engine.RunYamlAsync(wrapped, Inputs(model, 3))).AssertCompleted().Latent();

        // The wrapper forwards the UNet's guidance embedding width, so the guider still sends the positive half alone with
        // timestep_cond; without it the guider would run a CFG batch without the embedding and the UNet would refuse it.
        Assert.Equal(plain.Values.ToArray(), through.Values.ToArray());
    }

    public void Dispose() => _folder.Dispose();

    // Two positive prompts, guided alone or combined (conditioning.combine), chosen by which: first, second or combined.
    private static string CombinedWorkflow(string which) => $$"""
        flowdiffusion: 1
        name: lcm-combined
        inputs:
          model: { type: string }
          cfg: { type: float }
        nodes:
          model: { node: model.load, with: { path: $model } }
          first_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle } }
          second_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: blue } }
          first: { node: clip.encode, in: { clip: model.clip, tokens: first_tokens.tokens } }
          second: { node: clip.encode, in: { clip: model.clip, tokens: second_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
          combined: { node: conditioning.combine, in: { a: first.conditioning, b: second.conditioning } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: {{which}}.conditioning, negative: negative.conditioning }, with: { scale: $cfg } }
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: lcm, steps: 1 } }
          noise: { node: latent.noise, with: { seed: 5, width: 64, height: 64 } }
          sample: { node: diffusion.sample, in: { guider: guider.guider, schedule: schedule.schedule, noise: noise.noise } }
        """;

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
