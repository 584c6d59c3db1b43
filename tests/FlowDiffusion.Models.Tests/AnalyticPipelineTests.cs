using Microsoft.ML.OnnxRuntime;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// Minimal txt2img loops written out here (tokenize, encode, CFG as one batch-2 UNet call, step, unscale, decode) to
/// show that analytic-sd returns the prompt's colour through a correct pipeline — the property the SD node pack relies on.
/// </summary>
public sealed class AnalyticPipelineTests : IDisposable
{
    private const int LatentSize = 8;
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load("analytic-sd");
    private readonly InferenceSession _textEncoder = Open("text_encoder");
    private readonly InferenceSession _unet = Open("unet");
    private readonly InferenceSession _decoder = Open("vae_decoder");

    public static TheoryData<string, string, double, double, double, double> Prompts => new()
    {
        { "a RED ball", "", 1.0, 1, 0, 0 },
        { "a red and blue circle", "", 1.0, 0.5, 0, 0.5 },
        { "a photo of a dog", "", 1.0, 0.5, 0.5, 0.5 },
        { "orange", "", 7.5, 0.5 + 7.5 * 0.5, 0.5, 0.5 - 7.5 * 0.5 },
        { "Cyan", "white", 3.0, 1 + 3 * -1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Euler_with_fractional_timesteps_and_cfg_returns_the_guided_colour(string prompt, string negative, double scale, double r, double g, double b)
    {
        var context = Encode(negative, prompt);
        const int steps = 20;
        // diffusers' Euler, "linspace" spacing: fractional timesteps, σ interpolated from the training table.
        var timesteps = Enumerable.Range(0, steps).Select(i => 999.0 * (steps - 1 - i) / (steps - 1)).ToArray();
        var sigmas = timesteps.Select(ExpectedSigma.At).Append(0).ToArray();
        var x = AnalyticExpectations.Noise(4 * LatentSize * LatentSize, seed: 42).Select(v => v * sigmas[0]).ToArray();
        for (var i = 0; i < steps; i++)
        {
            var input = x.Select(v => v / Math.Sqrt(sigmas[i] * sigmas[i] + 1)).ToArray();
            var epsilon = GuidedNoise(input, timesteps[i], context, scale);
            x = x.Select((v, j) => v + (sigmas[i + 1] - sigmas[i]) * epsilon[j]).ToArray();
        }

        AssertColour(Decode(x), r, g, b);
    }

    [Fact]
    public void Ddim_with_integer_timesteps_returns_the_prompt_colour()
    {
        var context = Encode(string.Empty, "a purple square on a yellow background");
        var timesteps = Enumerable.Range(0, 25).Select(i => 961.0 - 40 * i).ToArray();
        var x = AnalyticExpectations.Noise(4 * LatentSize * LatentSize, seed: 9).Select(v => (double)v).ToArray();
        for (var i = 0; i < timesteps.Length; i++)
        {
            var alphaBar = AlphaBar(timesteps[i]);
            var alphaBarPrevious = i + 1 < timesteps.Length ? AlphaBar(timesteps[i + 1]) : AlphaBar(0);
            var epsilon = GuidedNoise(x, timesteps[i], context, 1.0);
            x = x.Select((v, j) =>
            {
                var x0 = (v - Math.Sqrt(1 - alphaBar) * epsilon[j]) / Math.Sqrt(alphaBar);
                return Math.Sqrt(alphaBarPrevious) * x0 + Math.Sqrt(1 - alphaBarPrevious) * epsilon[j];
            }).ToArray();
        }

        // DDIM ends at t = 0, whose ᾱ is just below 1, so remove the last bit of noise with the final prediction.
        var last = GuidedNoise(x, 0, context, 1.0);
        var clean = x.Select((v, j) => (v - Math.Sqrt(1 - AlphaBar(0)) * last[j]) / Math.Sqrt(AlphaBar(0))).ToArray();
        // Mean of purple (.5, 0, .5) and yellow (1, 1, 0).
        AssertColour(Decode(clean), 0.75, 0.5, 0.25);
    }

    public void Dispose()
    {
        _textEncoder.Dispose();
        _unet.Dispose();
        _decoder.Dispose();
    }

    private static double AlphaBar(double t)
    {
        var sigma = ExpectedSigma.At(t);
        return 1 / (1 + sigma * sigma);
    }

    /// <summary>[unconditional; conditional] embeddings [2, 77, 4].</summary>
    private float[] Encode(string negative, string prompt)
    {
        var ids = _tokenizer.EncodePadded(negative).Concat(_tokenizer.EncodePadded(prompt)).ToArray();
        return Run(_textEncoder, ("input_ids", Int32s(ids, 2, 77)))["last_hidden_state"].Values;
    }

    /// <summary>ε_u + s·(ε_c − ε_u) from one batch-2 UNet call.</summary>
    private double[] GuidedNoise(double[] latent, double t, float[] context, double scale)
    {
        var plane = latent.Length;
        var batch = latent.Concat(latent).Select(v => (float)v).ToArray();
        var output = Run(
            _unet,
            ("sample", Floats(batch, 2, 4, LatentSize, LatentSize)),
            ("timestep", Floats([(float)t, (float)t], 2)),
            ("encoder_hidden_states", Floats(context, 2, 77, 4)))["out_sample"].Values;
        return Enumerable.Range(0, plane).Select(j => output[j] + scale * (output[plane + j] - output[j])).ToArray();
    }

    private double[] Decode(double[] latent)
    {
        var unscaled = latent.Select(v => (float)(v / AnalyticExpectations.ScalingFactor)).ToArray();
        var image = Run(_decoder, ("latent_sample", Floats(unscaled, 1, 4, LatentSize, LatentSize)))["sample"].Values;
        var plane = image.Length / 3;
        return Enumerable.Range(0, 3).Select(c => image.Skip(c * plane).Take(plane).Average(v => (v + 1) / 2.0)).ToArray();
    }

    private static void AssertColour(double[] actual, double r, double g, double b)
    {
        Assert.Equal(r, actual[0], 0.005);
        Assert.Equal(g, actual[1], 0.005);
        Assert.Equal(b, actual[2], 0.005);
    }

    private static InferenceSession Open(string component) => new(Path.Combine(RepositoryRoot.Models, "analytic-sd", component, "model.onnx"));
}
