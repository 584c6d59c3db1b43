using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// guidance.dual_cfg on tiny-sd, a real convolutional UNet whose predictions differ per prompt and per pixel, batch 2:
/// the guided prediction against the three prompts' own predictions combined as ComfyUI's DualCFGGuider combines them
/// (regular n + s₂·(m − n) + s₁·(p − m), nested n + s₂·(m + s₁·(p − m) − n)), with and without the cfg-1 shortcuts, and
/// a CFG++ sampler's unconditional prediction: the negative's (regular) or cond2's (nested), the unconditional one
/// ComfyUI's CFG function is handed.
/// </summary>
public sealed class DualCfgGuidanceTests
{
    private const int Size = 16;
    private static readonly LatentShape Shape = new(2, 4, Size, Size);

    [Theory]
    [InlineData("regular", "2.5", "4")]
    [InlineData("regular", "3", "1")]
    [InlineData("regular", "1", "1")]
    [InlineData("regular", "1", "0.5")]
    [InlineData("nested", "2.5", "4")]
    [InlineData("nested", "1", "1")]
    public async Task Guided_is_the_styles_combination_of_the_three_predictions(string style, string scaleConds, string scaleNegative)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Graph(style, scaleConds, scaleNegative), new Dictionary<string, object?>())).AssertCompleted();
        var guider = Assert.IsAssignableFrom<IGuider>(run.Result.Output("guider", "guider"));
        var denoiser = Assert.IsAssignableFrom<IDenoiser>(run.Result.Output("denoiser", "denoiser"));
        var random = new Random(5);
        var sample = Enumerable.Range(0, Shape.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var input = new GuidanceInput(sample, Shape, sample, 500f, null, 0, 1);
        async Task<float[]> Alone(string node) =>
            await denoiser.PredictAsync(new DenoiserInput(sample, Shape, 500f, Conditioning.Batched([new ConditioningRows(Assert.IsType<Conditioning>(run.Result.Output(node, "conditioning")), 2)])),
                CancellationToken.None);
        var (p, m, n) = (await Alone("a"), await Alone("b"), await Alone("neg"));
        double s1 = double.Parse(scaleConds, System.Globalization.CultureInfo.InvariantCulture), s2 = double.Parse(scaleNegative, System.Globalization.CultureInfo.InvariantCulture);
        var expected = p.Select((_, i) => style == "nested" ? n[i] + (s2 * (m[i] + (s1 * (p[i] - m[i])) - n[i])) : n[i] + (s2 * (m[i] - n[i])) + (s1 * (p[i] - m[i]))).ToArray();

        var guided = await guider.PredictAsync(input, CancellationToken.None);
        var both = await guider.PredictWithUnconditionalAsync(input, CancellationToken.None);

        Assert.True(MaxDifference(p, m) > 1e-2 && MaxDifference(m, n) > 1e-2, "the prompts must give different predictions");
        Assert.True(MaxDifference(guided, expected) < 1e-4, $"guided: {MaxDifference(guided, expected):G4} from the combination");
        Assert.True(MaxDifference(both.Guided, expected) < 1e-4, $"guided for CFG++: {MaxDifference(both.Guided, expected):G4} from the combination");
        var unconditional = style == "nested" ? m : n;
        Assert.True(MaxDifference(both.Unconditional!, unconditional) < 2e-5, $"unconditional: {MaxDifference(both.Unconditional!, unconditional):G4}");
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static double MaxDifference(float[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    private static string Graph(string style, string scaleConds, string scaleNegative) => $$"""
        flowdiffusion: 1
        name: dual-cfg
        nodes:
          model: { node: model.load, with: { path: models/tiny-sd } }
          a_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
          a: { node: clip.encode, in: { clip: model.clip, tokens: a_tokens.tokens } }
          b_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a tree } }
          b: { node: clip.encode, in: { clip: model.clip, tokens: b_tokens.tokens } }
          neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          neg: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.dual_cfg, in: { denoiser: denoiser.denoiser, cond1: a.conditioning, cond2: b.conditioning, negative: neg.conditioning }, with: { scale_conds: {{scaleConds}}, scale_negative: {{scaleNegative}}, style: {{style}} } }
        """;
}
