using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// Model descriptions with weight overrides: y = x·W + b on a real ONNX Runtime session, W and b initializers
/// replaced or transformed when the session is created.
/// </summary>
public sealed class WeightOverrideTests : IDisposable
{
    private static readonly float[] BaseWeight = [1, 0, 0, 0, 1, 0];   // [[1, 0, 0], [0, 1, 0]]
    private static readonly float[] BaseBias = [0.5f, 0.5f, 0.5f];
    private static readonly float[] X = [1, 2];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "flowdiffusion-overrides-" + Guid.NewGuid().ToString("N"));
    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Overriding_one_initializer_changes_the_output_exactly_as_computed_by_hand()
    {
        var model = Linear("replace");
        var weight = new TensorOverride("proj.weight", WeightTensor.FromFloats([2, 3, 4, 5, 6, 7], 2, 3));

        var plain = Run(new OnnxModelSource(model));
        var overridden = Run(new OnnxModelSource(model, overrides: WeightOverrides.Of([weight])));

        Assert.Equal([1.5f, 2.5f, 0.5f], plain);
        // [1, 2]·[[2, 3, 4], [5, 6, 7]] + 0.5 = [1·2 + 2·5, 1·3 + 2·6, 1·4 + 2·7] + 0.5
        Assert.Equal([12.5f, 15.5f, 18.5f], overridden);
    }

    [Fact]
    public void An_overridden_convolution_bias_takes_effect_at_full_graph_optimisation()
    {
        // ONNX Runtime's AddInitializer substitutes after optimisation, which at ORT_ENABLE_ALL left this bias unchanged.
        var path = Path.Combine(RepositoryModels.TinySd, "unet", "model.onnx");
        var bias = OnnxModelFile.Read(path).ReadWeight("conv_out.bias").ToFloats();
        float[] delta = [0.5f, -1f, 2f, 0.25f];
        var shifted = new TensorOverride("conv_out.bias", WeightTensor.FromFloats([.. bias.Zip(delta, (b, d) => b + d)], 4));
        using var plain = UNet.Open(_cache, new OnnxModelSource(path));
        using var overridden = plain.WithOverrides([shifted]);
        var shape = new FlowDiffusion.Sdk.Diffusion.LatentShape(1, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var hidden = Enumerable.Range(0, 77 * 32).Select(i => MathF.Cos(i * 0.01f)).ToArray();

        var before = plain.Predict(sample, shape, [500f], hidden, 77);
        var after = overridden.Predict(sample, shape, [500f], hidden, 77);

        Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, overridden.Source.Options.GraphOptimization);
        for (var i = 0; i < before.Length; i++)
        {
            Assert.Equal(before[i] + delta[i / 64], after[i], 1e-5f);
        }
    }

    [Fact]
    public void Overrides_of_one_weight_apply_in_order_each_to_the_value_the_previous_left()
    {
        var model = Linear("stack");
        var deltaFile = Path.Combine(_root, "delta.bin");
        File.WriteAllBytes(deltaFile, HandWrittenOnnx.Floats([1, 1, 1]));
        var delta = new FileWeightOverride("proj.bias", deltaFile, "add-raw-floats", 0.25f, AddScaledFileValues);

        // The graph's own bias first: 0.5 + 0.25·1.
        var onBase = Run(new OnnxModelSource(model, overrides: WeightOverrides.Of([delta])));
        // A replacement, then the same delta on top of it: 10 + 0.25, 20 + 0.25, 30 + 0.25.
        var replaced = new TensorOverride("proj.bias", WeightTensor.FromFloats([10, 20, 30], 3));
        var stacked = Run(new OnnxModelSource(model, overrides: WeightOverrides.Of([replaced, delta])));

        Assert.Equal([1.75f, 2.75f, 0.75f], onBase);
        Assert.Equal([11.25f, 22.25f, 30.25f], stacked);
    }

    [Fact]
    public void Weights_in_external_data_are_read_for_transforms_and_overridden()
    {
        var folder = Path.Combine(_root, "external");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), [.. new byte[8], .. HandWrittenOnnx.Floats(BaseWeight)]);
        var model = new HandWrittenOnnx()
            .Input("x", 1, 2).Output("y", 1, 3)
            .ExternalWeight("proj.weight", "weights.bin", offset: 8, length: 24, 2, 3)
            .Weight("proj.bias", BaseBias, 3)
            .Node("MatMul", ["x", "proj.weight"], ["xw"]).Node("Add", ["xw", "proj.bias"], ["y"])
            .Write(Path.Combine(folder, "model.onnx"));
        var doubled = new FileWeightOverride("proj.weight", Path.Combine(folder, "weights.bin"), "double-current", 2f,
            (o, current, _) => WeightTensor.FromFloats([.. current().ToFloats().Select(v => v * o.Strength)], 2, 3));

        Assert.Equal(BaseWeight, OnnxModelFile.Read(model).ReadWeight("proj.weight").ToFloats());
        Assert.Equal([1.5f, 2.5f, 0.5f], Run(new OnnxModelSource(model)));
        Assert.Equal([2.5f, 4.5f, 0.5f], Run(new OnnxModelSource(model, overrides: WeightOverrides.Of([doubled]))));
    }

    [Fact]
    public void Two_sources_differing_only_in_overrides_get_two_sessions_and_equal_overrides_share_one()
    {
        var model = Linear("keys");
        OnnxModelSource With(float first) =>
            new(model, overrides: WeightOverrides.Of([new TensorOverride("proj.weight", WeightTensor.FromFloats([first, 3, 4, 5, 6, 7], 2, 3))]));

        using var plain = _cache.Acquire(new OnnxModelSource(model));
        using var a = _cache.Acquire(With(2));
        using var aAgain = _cache.Acquire(With(2));   // a different object with the same contents
        using var b = _cache.Acquire(With(9));

        Assert.Same(a.Session, aAgain.Session);
        Assert.NotSame(plain.Session, a.Session);
        Assert.NotSame(a.Session, b.Session);
        Assert.Equal(3, _cache.Count);
        Assert.Equal(With(2), With(2));
        Assert.NotEqual(With(2).Overrides.Identity, With(9).Overrides.Identity);
    }

    [Fact]
    public void A_file_override_is_keyed_by_file_size_mtime_transform_and_strength()
    {
        var file = Path.Combine(_root, "lora.bin");
        Directory.CreateDirectory(_root);
        File.WriteAllBytes(file, HandWrittenOnnx.Floats([1, 1, 1]));
        FileWeightOverride Delta(float strength, string transform = "add") => new("proj.bias", file, transform, strength, AddScaledFileValues);

        var before = Delta(0.5f).Identity;
        Assert.Equal(before, Delta(0.5f).Identity);
        Assert.NotEqual(before, Delta(0.75f).Identity);
        Assert.NotEqual(before, Delta(0.5f, "other").Identity);
        File.WriteAllBytes(file, HandWrittenOnnx.Floats([1, 1, 1, 1]));
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1));
        Assert.NotEqual(before, Delta(0.5f).Identity);
    }

    [Fact]
    public void An_override_of_a_missing_weight_or_of_the_wrong_shape_is_refused_naming_both()
    {
        var model = Linear("errors");
        var missing = new TensorOverride("proj.weights", WeightTensor.FromFloats([1, 2, 3, 4, 5, 6], 2, 3));
        var wrongShape = new TensorOverride("proj.weight", WeightTensor.FromFloats([1, 2, 3, 4, 5, 6], 3, 2));

        var noSuchWeight = Assert.Throws<ArgumentException>(() => _cache.Acquire(new OnnxModelSource(model, overrides: WeightOverrides.Of([missing]))));
        var badShape = Assert.Throws<ArgumentException>(() => _cache.Acquire(new OnnxModelSource(model, overrides: WeightOverrides.Of([wrongShape]))));

        Assert.Contains("'proj.weights'", noSuchWeight.Message);
        Assert.Contains("proj.weight", noSuchWeight.Message);   // the near name
        Assert.Contains(model, noSuchWeight.Message);
        Assert.Contains("float32 [3, 2]", badShape.Message);
        Assert.Contains("float32 [2, 3]", badShape.Message);
        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public void A_session_with_overrides_keeps_running_after_its_override_values_are_collected()
    {
        var model = Linear("lifetime");
        var source = new OnnxModelSource(model, overrides: WeightOverrides.Of([new TensorOverride("proj.weight", WeightTensor.FromFloats([2, 3, 4, 5, 6, 7], 2, 3))]));
        using var lease = _cache.Acquire(source);
        source = null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal([12.5f, 15.5f, 18.5f], Evaluate(lease.Session));
    }

    public void Dispose()
    {
        _cache.Dispose();
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static WeightTensor AddScaledFileValues(FileWeightOverride o, Func<WeightTensor> current, CancellationToken cancellationToken)
    {
        var value = current();
        var values = value.ToFloats();
        var delta = File.ReadAllBytes(o.FilePath);
        for (var i = 0; i < values.Length; i++) values[i] += o.Strength * BitConverter.ToSingle(delta, i * 4);
        return WeightTensor.FromFloats(values, [.. value.Shape]);
    }

    private string Linear(string name) => new HandWrittenOnnx()
        .Input("x", 1, 2).Output("y", 1, 3)
        .Weight("proj.weight", BaseWeight, 2, 3).Weight("proj.bias", BaseBias, 3)
        .Node("MatMul", ["x", "proj.weight"], ["xw"]).Node("Add", ["xw", "proj.bias"], ["y"])
        .Write(Path.Combine(_root, name, "model.onnx"));

    private float[] Run(OnnxModelSource source)
    {
        using var lease = _cache.Acquire(source);
        return Evaluate(lease.Session);
    }

    private static float[] Evaluate(InferenceSession session)
    {
        using var x = OrtValue.CreateTensorValueFromMemory((float[])X.Clone(), [1, 2]);
        using var results = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
