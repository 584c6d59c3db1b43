using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// guidance.cfg's unconditional prediction for the CFG++ samplers (ComfyUI's uncond_denoised) on tiny-sd, a real
/// convolutional UNet: the negative's own prediction from the same batched call, at scale 1 too (ComfyUI's
/// disable_cfg1_optimization), and before the rescale, which applies to the guided prediction alone. Each guider is asked
/// both ways in turn, as a cached guider is when the next run picks a plain sampler: a combined positive at scale 1 batches
/// the negative's rows only for the first.
/// </summary>
public sealed class GuiderUnconditionalTests
{
    private const int Size = 16;
    private static readonly LatentShape Shape = new(1, 4, Size, Size);

    [Theory]
    [InlineData("1", "0", "a.conditioning")]
    [InlineData("3", "0.7", "a.conditioning")]
    [InlineData("1", "0", "both.conditioning")]
    public async Task Unconditional_is_the_negative_prediction_and_guided_is_what_predict_gives(string scale, string rescale, string positive)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Graph(scale, rescale, positive), new Dictionary<string, object?>())).AssertCompleted();
        var guider = Assert.IsAssignableFrom<IGuider>(run.Result.Output("guider", "guider"));
        var denoiser = Assert.IsAssignableFrom<IDenoiser>(run.Result.Output("denoiser", "denoiser"));
        Conditioning Encoded(string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "conditioning"));
        var random = new Random(11);
        var sample = Enumerable.Range(0, Shape.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var input = new GuidanceInput(sample, Shape, sample, 500f, null, 0, 1);

        var both = await guider.PredictWithUnconditionalAsync(input, CancellationToken.None);
        var guided = await guider.PredictAsync(input, CancellationToken.None);
        var negative = await denoiser.PredictAsync(new DenoiserInput(sample, Shape, 500f, Encoded("neg")), CancellationToken.None);
        var house = await denoiser.PredictAsync(new DenoiserInput(sample, Shape, 500f, Encoded("a")), CancellationToken.None);

        Assert.NotNull(both.Unconditional);
        Assert.True(MaxDifference(both.Unconditional, negative) < 2e-5, $"unconditional against the negative alone: {MaxDifference(both.Unconditional, negative):G4}");
        Assert.True(MaxDifference(both.Guided, guided) < 1e-5, $"guided against PredictAsync: {MaxDifference(both.Guided, guided):G4}");
        Assert.True(MaxDifference(negative, house) > 1e-2, "the prompts must give different predictions");
        if (scale == "1" && positive == "a.conditioning")
            Assert.True(MaxDifference(both.Guided, house) < 1e-4, $"scale 1 guided against the positive alone: {MaxDifference(both.Guided, house):G4}");
        if (rescale != "0")
        {
            // The rescale moved the guided prediction away from u + s·(c − u), while the unconditional one stays raw.
            var plain = negative.Zip(house, (u, c) => u + 3 * (c - u)).ToArray();
            Assert.True(MaxDifference(both.Guided, plain) > 5e-4, $"rescale 0.7 must change the guided prediction: {MaxDifference(both.Guided, plain):G4}");
        }
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static string Graph(string scale, string rescale, string positive) => $$"""
        flowdiffusion: 1
        name: guider-unconditional
        nodes:
          model: { node: model.load, with: { path: models/tiny-sd } }
          a_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
          a: { node: clip.encode, in: { clip: model.clip, tokens: a_tokens.tokens } }
          b_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a tree } }
          b: { node: clip.encode, in: { clip: model.clip, tokens: b_tokens.tokens } }
          both: { node: conditioning.combine, in: { a: a.conditioning, b: b.conditioning } }
          neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          neg: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: {{positive}}, negative: neg.conditioning, config: model.scheduler_config }, with: { scale: {{scale}}, rescale: {{rescale}} } }
        """;
}
