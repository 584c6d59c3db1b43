using Microsoft.ML.OnnxRuntime;
using static FlowDiffusion.Models.Tests.OnnxModelRun;

namespace FlowDiffusion.Models.Tests;

public sealed class ShippedModelRunTests
{
    private const int Batch = 2;

    public static TheoryData<string, int, int, int> Cases()
    {
        var cases = new TheoryData<string, int, int, int>();
        foreach (var model in new[] { "analytic-sd", "analytic-sd-inpaint", "tiny-sd" })
        {
            foreach (var (height, width) in new[] { (64, 64), (128, 96) })
            {
                foreach (var sequence in new[] { 77, 154 })
                {
                    cases.Add(model, height, width, sequence);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Text_encoder_runs_with_dynamic_batch_and_sequence(string model, int height, int width, int sequence)
    {
        _ = (height, width);
        using var session = Open(model, "text_encoder");
        var hiddenWidth = session.OutputMetadata["last_hidden_state"].Dimensions[2];
        var (startOfText, endOfText) = (VocabularySize(model) - 2, VocabularySize(model) - 1);
        var ids = Enumerable.Range(0, Batch * sequence).Select(i => (i % sequence) switch { 0 => startOfText, 1 => 70, 2 => 300, _ => endOfText }).ToArray();

        var outputs = Run(session, ("input_ids", Int32s(ids, Batch, sequence)));

        AssertShape([Batch, sequence, hiddenWidth], outputs["last_hidden_state"]);
        AssertShape([Batch, hiddenWidth], outputs["pooler_output"]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Unet_runs_with_dynamic_batch_size_and_sequence(string model, int height, int width, int sequence)
    {
        using var session = Open(model, "unet");
        var channels = session.InputMetadata["sample"].Dimensions[1];
        var contextWidth = session.InputMetadata["encoder_hidden_states"].Dimensions[2];
        var (h, w) = (height / 8, width / 8);
        var sample = AnalyticExpectations.Noise(Batch * channels * h * w, seed: 1);
        var timestep = session.InputMetadata["timestep"].ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64
            ? Int64s([981, 21], Batch)
            : Floats([981f, 20.5f], Batch);

        var outputs = Run(
            session,
            ("sample", Floats(sample, Batch, channels, h, w)),
            ("timestep", timestep),
            ("encoder_hidden_states", Floats(AnalyticExpectations.Noise(Batch * sequence * contextWidth, seed: 2), Batch, sequence, contextWidth)));

        AssertShape([Batch, 4, h, w], outputs["out_sample"]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vae_runs_both_ways_at_any_multiple_of_eight(string model, int height, int width, int sequence)
    {
        _ = sequence;
        using var encoder = Open(model, "vae_encoder");
        using var decoder = Open(model, "vae_decoder");
        var image = AnalyticExpectations.Noise(Batch * 3 * height * width, seed: 3).Select(v => Math.Clamp(v, -1f, 1f)).ToArray();

        var encoded = Run(encoder, ("sample", Floats(image, Batch, 3, height, width))).Single().Value;
        var decoded = Run(decoder, ("latent_sample", Floats(AnalyticExpectations.Noise(Batch * 4 * (height / 8) * (width / 8), seed: 4), Batch, 4, height / 8, width / 8)))["sample"];

        AssertShape([Batch, encoder.OutputMetadata.Values.Single().Dimensions[1], height / 8, width / 8], encoded);
        AssertShape([Batch, 3, height, width], decoded);
    }

    [Theory]
    [InlineData("analytic-sd", "unet", "sample", new[] { "batch", "", "height", "width" })]
    [InlineData("analytic-sd", "unet", "encoder_hidden_states", new[] { "batch", "sequence", "" })]
    [InlineData("tiny-sd", "unet", "sample", new[] { "batch", "", "height", "width" })]
    [InlineData("tiny-sd", "text_encoder", "input_ids", new[] { "batch", "sequence" })]
    [InlineData("tiny-sd", "vae_encoder", "sample", new[] { "batch", "", "height", "width" })]
    [InlineData("tiny-sd", "vae_decoder", "latent_sample", new[] { "batch", "", "latent_height", "latent_width" })]
    public void Inputs_declare_batch_spatial_and_sequence_dims_as_dynamic(string model, string component, string input, string[] symbolic)
    {
        using var session = Open(model, component);
        Assert.Equal(symbolic, session.InputMetadata[input].SymbolicDimensions);
    }

    [Fact]
    public void Tiny_unet_output_is_order_one()
    {
        using var session = Open("tiny-sd", "unet");
        var outputs = Run(
            session,
            ("sample", Floats(AnalyticExpectations.Noise(Batch * 4 * 8 * 8, seed: 5), Batch, 4, 8, 8)),
            ("timestep", Int64s([999, 1], Batch)),
            ("encoder_hidden_states", Floats(AnalyticExpectations.Noise(Batch * 77 * 32, seed: 6), Batch, 77, 32)));

        var values = outputs["out_sample"].Values;
        var rms = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.InRange(rms, 0.05, 5.0);
        // Different timesteps and contexts must reach the output: the two batch items differ.
        Assert.NotEqual(values.Take(256), values.Skip(256));
    }

    private static int VocabularySize(string model) => System.Text.Json.JsonDocument.Parse(
        File.ReadAllText(Path.Combine(RepositoryRoot.Models, model, "text_encoder", "config.json"))).RootElement.GetProperty("vocab_size").GetInt32();

    private static InferenceSession Open(string model, string component) =>
        new(Path.Combine(RepositoryRoot.Models, model, component, "model.onnx"));

    private static void AssertShape(long[] expected, OutputTensor actual)
    {
        Assert.Equal(expected, actual.Shape);
        Assert.All(actual.Values, v => Assert.True(float.IsFinite(v)));
    }
}
