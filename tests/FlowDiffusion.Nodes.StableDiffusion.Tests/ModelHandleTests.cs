using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The model handles model.load puts on edges are descriptions a later node can derive from — what a
/// <c>lora.apply</c> node does: model in, model out with extra weight overrides.
/// </summary>
public sealed class ModelHandleTests
{
    private const string LoadOnly = """
        flowdiffusion: 1
        name: load-only
        nodes:
          model:
            node: model.load
            with:
              path: models/tiny-sd
        """;

    [Fact]
    public async Task A_derived_unet_with_a_bias_override_shifts_each_output_channel_by_its_delta_and_leaves_the_input_handle_as_it_was()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(LoadOnly, new Dictionary<string, object?>())).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var overridable = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(unet);
        float[] delta = [0.5f, -1f, 2f, 0.25f];
        var bias = Assert.Single(overridable.Weights, w => w.Name == "conv_out.bias");
        Assert.Equal([4L], bias.Shape);

        // What a LoRA node does: derive from the current value of a weight, here conv_out.bias + delta.
        var derived = overridable.WithOverrides([new AddPerChannel("conv_out.bias", delta)]);
        var input = Input();
        var plain = await unet.PredictAsync(input, CancellationToken.None);
        var shifted = await derived.PredictAsync(input, CancellationToken.None);
        var plainAgain = await unet.PredictAsync(input, CancellationToken.None);

        var plane = input.Shape.Height * input.Shape.Width;
        for (var i = 0; i < plain.Length; i++)
        {
            var channel = i / plane % 4;
            Assert.Equal(plain[i] + delta[channel], shifted[i], 1e-5f);
        }
        Assert.Equal(plain, plainAgain);
        Assert.Empty(overridable.Overrides);
        Assert.Single(Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(derived).Overrides);
    }

    [Fact]
    public async Task A_derived_text_encoder_with_an_override_changes_the_conditioning_and_a_missing_weight_is_refused_at_once()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(LoadOnly, new Dictionary<string, object?>())).AssertCompleted();
        var clip = Assert.IsAssignableFrom<IOverridableModel<ITextEncoder>>(run.Result.Output("model", "clip"));
        var weight = clip.Weights.First(w => w.ElementType == WeightElementType.Float32 && w.Shape.Count == 1);

        var error = Assert.Throws<ArgumentException>(() => clip.WithOverrides([new AddPerChannel("no.such.weight", [1f])]));
        var derived = clip.WithOverrides([new AddPerChannel(weight.Name, [.. Enumerable.Repeat(3f, (int)weight.Shape[0])])]);
        var tokens = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("model", "tokenizer")).Tokenize("a red circle");
        var plain = await ((ITextEncoder)clip).EncodeAsync([tokens], CancellationToken.None);
        var changed = await derived.EncodeAsync([tokens], CancellationToken.None);

        Assert.Contains("no.such.weight", error.Message);
        Assert.NotEqual(plain.Embeddings.ToArray(), changed.Embeddings.ToArray());
    }

    private static DenoiserInput Input()
    {
        var shape = new LatentShape(1, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var context = new Conditioning(1, 77, 32, [.. Enumerable.Range(0, 77 * 32).Select(i => MathF.Cos(i * 0.01f))]);
        return new DenoiserInput(sample, shape, 500f, context);
    }

    // current + delta, with delta given per element of a 1-D weight; identity from the values, so equal deltas share a session.
    private sealed class AddPerChannel(string name, float[] delta) : WeightOverride(name)
    {
        public override string Identity => "add:" + string.Join(",", delta);

        public override WeightTensor Apply(Func<WeightTensor> current, CancellationToken cancellationToken)
        {
            var value = current();
            var values = value.ToFloats();
            for (var i = 0; i < values.Length; i++) values[i] += delta[i];
            return WeightTensor.FromFloats(values, [.. value.Shape]);
        }
    }
}
