using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// Weight overrides too large to write into the model's bytes (protobuf's 2 GB limit: a merge of two SD 1.5 UNets, a
/// LoRA over most of an SDXL UNet) go to external data in a temporary copy of the model. The limit is lowered to 0 here
/// so small models take that path; the results must equal the in-memory path's exactly.
/// </summary>
public sealed class ExternalWeightOverrideTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "flowdiffusion-external-overrides-" + Guid.NewGuid().ToString("N"));
    private readonly OnnxSessionCache _inline = new();
    private readonly OnnxSessionCache _external = new() { InlineOverrideLimit = 0 };

    [Fact]
    public void A_UNet_with_overrides_in_external_data_predicts_exactly_what_the_in_memory_form_predicts()
    {
        var path = Path.Combine(RepositoryModels.TinySd, "unet", "model.onnx");
        var file = OnnxModelFile.Read(path);
        var bias = file.ReadWeight("conv_out.bias").ToFloats();
        var weight = file.ReadWeight("conv_in.weight");
        var overrides = new WeightOverride[]
        {
            new TensorOverride("conv_out.bias", WeightTensor.FromFloats([.. bias.Select((b, i) => b + 0.5f * (i + 1))], 4)),
            new TensorOverride("conv_in.weight", WeightTensor.FromFloats([.. weight.ToFloats().Select(v => -0.75f * v)], [.. weight.Shape])),
        };
        var shape = new LatentShape(1, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var hidden = Enumerable.Range(0, 77 * 32).Select(i => MathF.Cos(i * 0.01f)).ToArray();
        float[] Predict(OnnxSessionCache cache, bool overridden)
        {
            using var plain = UNet.Open(cache, new OnnxModelSource(path));
            using var unet = overridden ? plain.WithOverrides(overrides) : plain;
            return unet.Predict(sample, shape, [500f], hidden, 77);
        }
        var before = Directory.GetDirectories(Path.GetTempPath(), "flowdiffusion-overridden-*").ToHashSet();

        var inMemory = Predict(_inline, overridden: true);
        var external = Predict(_external, overridden: true);
        var original = Predict(_external, overridden: false);

        Assert.Equal(inMemory, external);
        Assert.NotEqual(original, external);
        // The temporary copy is gone once the session holds its weights.
        var left = Directory.GetDirectories(Path.GetTempPath(), "flowdiffusion-overridden-*").ToHashSet();
        left.ExceptWith(before);
        Assert.Empty(left);
    }

    [Fact]
    public void The_copy_keeps_the_models_other_external_weights_and_takes_an_overrides_own_shape()
    {
        var folder = Path.Combine(_root, "external");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), [.. new byte[8], .. HandWrittenOnnx.Floats([1, 0, 0, 0, 1, 0])]);
        var model = new HandWrittenOnnx()
            .Input("x", 1, 2).Output("y", 1, 3)
            .ExternalWeight("proj.weight", "weights.bin", offset: 8, length: 24, 2, 3)
            .Weight("proj.bias", [0.5f, 0.5f, 0.5f], 3)
            .Node("MatMul", ["x", "proj.weight"], ["xw"]).Node("Add", ["xw", "proj.bias"], ["y"])
            .Write(Path.Combine(folder, "model.onnx"));
        var bias = new TensorOverride("proj.bias", WeightTensor.FromFloats([10, 20, 30], 3));

        using var lease = _external.Acquire(new OnnxModelSource(model, overrides: WeightOverrides.Of([bias])));

        // [1, 2]·[[1, 0, 0], [0, 1, 0]] + [10, 20, 30]: the external weight read from the copy, the bias overridden.
        Assert.Equal([11f, 22f, 30f], Evaluate(lease.Session));
        var written = OnnxModelFile.Read(Float32Upcast.WriteOverridden(OnnxModelFile.Read(model), Path.Combine(_root, "copy"),
            new Dictionary<string, WeightTensor> { ["proj.bias"] = WeightTensor.FromFloats([1, 2, 3, 4], 4) }));
        Assert.Equal([4L], written.Initializer("proj.bias")!.Shape);
        Assert.Equal([1f, 2f, 3f, 4f], written.ReadWeight("proj.bias").ToFloats());
        Assert.Equal([1f, 0f, 0f, 0f, 1f, 0f], written.ReadWeight("proj.weight").ToFloats());
    }

    [Fact]
    public void An_override_of_a_missing_weight_or_of_the_wrong_shape_is_refused_on_that_path_too()
    {
        var path = Path.Combine(RepositoryModels.TinySd, "unet", "model.onnx");
        var missing = new TensorOverride("conv_out.biass", WeightTensor.FromFloats([1, 2, 3, 4], 4));
        var wrongShape = new TensorOverride("conv_out.bias", WeightTensor.FromFloats([1, 2, 3], 3));

        var noSuchWeight = Assert.Throws<ArgumentException>(() => _external.Acquire(new OnnxModelSource(path, overrides: WeightOverrides.Of([missing]))));
        var badShape = Assert.Throws<ArgumentException>(() => _external.Acquire(new OnnxModelSource(path, overrides: WeightOverrides.Of([wrongShape]))));

        Assert.Contains("'conv_out.biass'", noSuchWeight.Message);
        Assert.Contains("float32 [3]", badShape.Message);
        Assert.Contains("float32 [4]", badShape.Message);
        Assert.Equal(0, _external.Count);
    }

    public void Dispose()
    {
        _inline.Dispose();
        _external.Dispose();
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static float[] Evaluate(InferenceSession session)
    {
        using var x = OrtValue.CreateTensorValueFromMemory(new float[] { 1, 2 }, [1, 2]);
        using var results = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
