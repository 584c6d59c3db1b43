using System.Buffers.Binary;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator.Tiny;
using FlowDiffusion.Onnx;
using OnnxModel = FlowDiffusion.Onnx.Proto.OnnxModel;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Xunit;
using OnnxTensorElementType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>fp16 models run as their float32 form on the CPU (issue 17 item 3): the upcast itself and the engine's use of it.</summary>
public sealed class Float32UpcastTests : IDisposable
{
    private const int LatentSize = 8;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "flowdiffusion-upcast-tests-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void The_upcast_vae_decoder_computes_bit_for_bit_what_the_fp32_graph_computes_on_the_fp16_rounded_weights()
    {
        var fp32 = TinyVaeDecoder.Build();
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(fp32));
        var roundedPath = Write("rounded/model.onnx", RoundedThroughHalf(fp32));
        var upcastPath = Float32Upcast.Write(OnnxModelFile.Read(fp16Path), Path.Combine(_root, "upcast"));
        var latents = Latents();

        var upcast = RunDecoder(upcastPath, latents, half: false);
        var rounded = RunDecoder(roundedPath, latents, half: false);

        Assert.Equal(rounded.Length, upcast.Length);
        Assert.True(rounded.AsSpan().SequenceEqual(upcast), "the upcast model's output differs from the fp32 graph's on the same (fp16-rounded) weights");
    }

    [Fact]
    public void The_upcast_vae_decoder_matches_the_fp16_model_within_fp16_rounding_and_holds_no_float16()
    {
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(TinyVaeDecoder.Build()));
        var upcastPath = Float32Upcast.Write(OnnxModelFile.Read(fp16Path), Path.Combine(_root, "upcast"));
        var latents = Latents();

        var upcast = RunDecoder(upcastPath, latents, half: false);
        var fp16 = RunDecoder(fp16Path, latents, half: true);

        // The fp16 model rounds every intermediate to 11 significant bits (relative 2^-11 ≈ 4.9e-4) through about twenty
        // operators, two group norms and an attention; the output is tanh's, in [-1, 1]. Errors of a few ulps per
        // operator add up to ~1e-2 at most; a wrong weight or a dropped layer moves outputs by ~0.1 or more.
        var maxError = upcast.Zip(fp16, (a, b) => Math.Abs(a - b)).Max();
        Assert.InRange(maxError, 0, 2e-2);
        Assert.True(upcast.Select(Math.Abs).Average() > 0.05, "the decoder's output is not trivially zero");

        var file = OnnxModelFile.Read(upcastPath);
        Assert.DoesNotContain(file.Initializers, i => i.DataType == 10);
        Assert.Equal(OnnxModelFile.Read(fp16Path).Initializers.Count, file.Initializers.Count);
        using var session = new InferenceSession(upcastPath);
        Assert.Equal(TensorElementType.Float, session.InputMetadata["latent_sample"].ElementDataType);
        Assert.Equal(TensorElementType.Float, session.OutputMetadata["sample"].ElementDataType);
    }

    [Fact]
    public void Cast_to_float16_constants_int32_data_and_external_data_are_converted_and_computed_exactly()
    {
        Directory.CreateDirectory(Path.Combine(_root, "hand"));
        // External data: a float16 [4] at offset 8 and a float32 [4] at offset 24 of weights.bin.
        var external = new byte[40];
        Half[] w4 = [(Half)0.75, (Half)(-2), (Half)8, (Half)0.125];
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteHalfLittleEndian(external.AsSpan(8 + i * 2), w4[i]);
        float[] f32 = [1.5f, 2.5f, -3f, 0.25f];
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteSingleLittleEndian(external.AsSpan(24 + i * 4), f32[i]);
        File.WriteAllBytes(Path.Combine(_root, "hand", "weights.bin"), external);
        Half[] w = [(Half)0.5, (Half)(-1.25), (Half)2, (Half)3.5];
        Half[] w2 = [(Half)1, (Half)2, (Half)(-4), (Half)0.5];
        Half[] w3 = [(Half)(-0.5), (Half)0.25, (Half)16, (Half)1];
        var big = Enumerable.Repeat((Half)0.125, 512).ToArray();
        var model = new HandWrittenOnnx()
            .TypedInput(10, "x", 4).TypedInput(7, "ids", 4).TypedOutput(10, "y", 4)
            .Float16Weight("w", w, false, true, 4)
            .Float16Weight("w2", w2, true, true, 4)
            .Float16Weight("w3", w3, true, false, 4)
            .ExternalWeightOf(10, "w4", "weights.bin", 8, 8, 4)
            .ExternalWeightOf(1, "f32", "weights.bin", 24, 16, 4)
            .Float16Weight("big", big, false, true, 512)
            .Int64Weight("four", [4], 1)
            .Node("Constant", [], ["c"], "", ("value", HandWrittenOnnx.Float16TensorBytes([(Half)1, (Half)2, (Half)3, (Half)4], 4)))
            .Node("ConstantOfShape", ["four"], ["k"], "", ("value", HandWrittenOnnx.Float16TensorBytes([(Half)0.25], 1)))
            .Node("Cast", ["ids"], ["idsHalf"], "", ("to", 10L))
            .Node("Cast", ["f32"], ["f32Half"], "", ("to", 10L))
            .Node("Sum", ["x", "w", "w2", "w3", "w4", "c", "k", "idsHalf", "f32Half"], ["s"])
            .Node("ReduceSum", ["big"], ["total"], "", ("keepdims", 0L))
            .Node("Add", ["s", "total"], ["y"]);
        var fp16Path = model.Write(Path.Combine(_root, "hand", "model.onnx"));
        var upcastPath = Float32Upcast.Write(OnnxModelFile.Read(fp16Path), Path.Combine(_root, "hand-upcast"));
        float[] x = [0.5f, 1f, -2f, 4f];
        long[] ids = [0, 1, 2, 3];
        var expected = Enumerable.Range(0, 4)
            .Select(i => x[i] + (float)w[i] + (float)w2[i] + (float)w3[i] + (float)w4[i] + (i + 1) + 0.25f + ids[i] + f32[i] + 64f).ToArray();

        using var session = new InferenceSession(upcastPath);
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, [4]);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [4]);
        using var results = session.Run(new RunOptions(), ["x", "ids"], [xValue, idsValue], ["y"]);

        Assert.Equal(TensorElementType.Float, session.InputMetadata["x"].ElementDataType);
        Assert.Equal(expected, results[0].GetTensorDataAsSpan<float>().ToArray());
        var file = OnnxModelFile.Read(upcastPath);
        Assert.DoesNotContain(file.Initializers, i => i.DataType == 10);
        Assert.Equal(w2.Select(v => (float)v), file.ReadWeight("w2").ToFloats());
        Assert.Equal(w3.Select(v => (float)v), file.ReadWeight("w3").ToFloats());
        Assert.Equal(w4.Select(v => (float)v), file.ReadWeight("w4").ToFloats());
        Assert.Equal(f32, file.ReadWeight("f32").ToFloats());
        // Small converted tensors stay inline; the large one and every external one move to the new data file.
        var data = Path.Combine(_root, "hand-upcast", Float32Upcast.DataName);
        Assert.Equal(upcastPath, file.Initializer("w")!.File);
        Assert.Equal(data, file.Initializer("big")!.File);
        Assert.Equal(data, file.Initializer("w4")!.File);
        Assert.Equal(data, file.Initializer("f32")!.File);
    }

    [Fact]
    public void A_malformed_file_is_refused_with_an_error_naming_it()
    {
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(TinyVaeDecoder.Build()));
        var file = OnnxModelFile.Read(fp16Path);
        var bytes = File.ReadAllBytes(fp16Path);
        File.WriteAllBytes(fp16Path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => Float32Upcast.Write(file, Path.Combine(_root, "truncated")));

        Assert.Contains(fp16Path, error.Message);

        var shortTensor = new HandWrittenOnnx().TypedInput(10, "x", 4).TypedOutput(10, "y", 4)
            .Float16Weight("w", [(Half)1, (Half)2], false, true, 4)
            .Node("Add", ["x", "w"], ["y"]).Write(Path.Combine(_root, "short", "model.onnx"));
        var shortError = Assert.Throws<InvalidDataException>(() => Float32Upcast.Write(OnnxModelFile.Read(shortTensor), Path.Combine(_root, "short-upcast")));
        Assert.Contains(shortTensor, shortError.Message);
        Assert.Contains("'w'", shortError.Message);
    }

    [Fact]
    public void The_cpu_session_of_an_fp16_model_runs_float32_and_keep_runs_float16()
    {
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(TinyVaeDecoder.Build()));
        var upcastOptions = OnnxSessionOptions.Cpu with { UpcastFloat16 = true };
        var keepOptions = OnnxSessionOptions.Parse("cpu:float16=keep");
        var store = new OptimizedModelStore(Path.Combine(_root, "store"));
        using var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, store);
        var file = OnnxModelFile.Read(fp16Path);

        using (var upcast = cache.Acquire(fp16Path, upcastOptions))
        using (var keep = cache.Acquire(fp16Path, keepOptions))
        {
            Assert.Equal(TensorElementType.Float, upcast.Session.InputMetadata["latent_sample"].ElementDataType);
            Assert.Equal(TensorElementType.Float16, keep.Session.InputMetadata["latent_sample"].ElementDataType);
            // The budget charges what is loaded: at least the float32 weights, twice the float16 ones.
            Assert.True(upcast.EstimatedBytes >= Float32Upcast.UpcastWeightsBytes(file));
            Assert.True(Float32Upcast.UpcastWeightsBytes(file) > 1.9 * file.WeightsBytes);
        }
        Assert.False(upcastOptions.Equals(keepOptions));
        Assert.Contains("float16=upcast", OptimizedModelStore.Key(new OnnxModelSource(fp16Path, upcastOptions), file));
        Assert.DoesNotContain("float16=upcast", OptimizedModelStore.Key(new OnnxModelSource(fp16Path, keepOptions), file));
        // The upcast model was written beside the entry only while the session was created.
        Assert.Empty(Directory.GetDirectories(store.Root, "*.upcast-*", SearchOption.AllDirectories));

        // Through the engine's decoder, which feeds each input as the session declares it: float32 in both cases.
        var latents = Latents();
        using var upcastDecoder = VaeDecoder.Open(cache, fp16Path, upcastOptions);
        using var keepDecoder = VaeDecoder.Open(cache, fp16Path, keepOptions);
        var fromUpcast = upcastDecoder.Decode(latents, [1, 4, LatentSize, LatentSize]).Values;
        var fromKeep = keepDecoder.Decode(latents, [1, 4, LatentSize, LatentSize]).Values;
        Assert.InRange(fromUpcast.Zip(fromKeep, (a, b) => Math.Abs(a - b)).Max(), 0, 2e-2);
    }

    [Fact]
    public void A_second_start_loads_the_stored_float32_entry_and_the_gpu_path_is_untouched()
    {
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(TinyVaeDecoder.Build()));
        var options = OnnxSessionOptions.Cpu with { UpcastFloat16 = true };
        var store = new OptimizedModelStore(Path.Combine(_root, "store"));
        float[] first, second;
        bool fromStore;
        using (var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, store))
        using (var decoder = VaeDecoder.Open(cache, fp16Path, options))
        {
            first = decoder.Decode(Latents(), [1, 4, LatentSize, LatentSize]).Values;
        }
        using (var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, store))
        {
            OnnxSessionEvent? loaded = null;
            cache.Loaded += (_, e) => loaded = e;
            using var lease = cache.Acquire(fp16Path, options);
            Assert.Equal(TensorElementType.Float, lease.Session.InputMetadata["latent_sample"].ElementDataType);
            fromStore = loaded!.FromOptimizedModel;
            using var decoder = VaeDecoder.Open(cache, fp16Path, options);
            second = decoder.Decode(Latents(), [1, 4, LatentSize, LatentSize]).Values;
        }

        Assert.True(fromStore);
        Assert.Equal(first, second);
        var cuda = new OnnxModelSource(fp16Path, OnnxSessionOptions.Parse("cuda") with { UpcastFloat16 = true });
        Assert.False(Float32Upcast.Applies(cuda, OnnxModelFile.Read(fp16Path)));
    }

    [Fact]
    public void A_weight_override_on_an_upcast_fp16_model_is_bound_as_float32()
    {
        var fp16Path = Write("fp16/model.onnx", Float16Model.Convert(TinyVaeDecoder.Build()));
        var file = OnnxModelFile.Read(fp16Path);
        var bias = file.ReadWeight("conv_out.bias");
        Assert.Equal(WeightElementType.Float16, bias.ElementType);
        var shifted = bias.ToFloats().Select(v => v + 0.5f).ToArray();
        var halves = new byte[shifted.Length * 2];
        for (var i = 0; i < shifted.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(halves.AsSpan(i * 2), (Half)shifted[i]);
        var overrides = WeightOverrides.Of([new TensorOverride("conv_out.bias", new WeightTensor(WeightElementType.Float16, bias.Shape, halves))]);
        using var cache = new OnnxSessionCache();

        float[] Decode(OnnxSessionOptions options)
        {
            using var decoder = VaeDecoder.Open(cache, new OnnxModelSource(fp16Path, options, overrides));
            return decoder.Decode(Latents(), [1, 4, LatentSize, LatentSize]).Values;
        }
        var upcast = Decode(OnnxSessionOptions.Cpu with { UpcastFloat16 = true });
        var keep = Decode(OnnxSessionOptions.Cpu with { UpcastFloat16 = false });
        using var plainDecoder = VaeDecoder.Open(cache, fp16Path, OnnxSessionOptions.Cpu with { UpcastFloat16 = true });
        var plain = plainDecoder.Decode(Latents(), [1, 4, LatentSize, LatentSize]).Values;

        Assert.InRange(upcast.Zip(keep, (a, b) => Math.Abs(a - b)).Max(), 0, 2e-2);
        Assert.True(upcast.Zip(plain, (a, b) => Math.Abs(a - b)).Max() > 0.05, "the override changed nothing");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Write(string relative, OnnxModel model)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, model.ToBytes());
        return path;
    }

    private static float[] Latents() =>
        [.. Enumerable.Range(0, 4 * LatentSize * LatentSize).Select(i => MathF.Sin(i * 0.37f) * 1.5f)];

    // The fp32 graph with every float initializer rounded to the nearest float16 (as Float16Model stores it).
    private static OnnxModel RoundedThroughHalf(OnnxModel model) => model with
    {
        Graph = model.Graph with
        {
            Initializers = [.. model.Graph.Initializers.Select(t =>
            {
                if (t.ElementType != OnnxTensorElementType.Float) return t;
                var raw = (byte[])t.RawData.Clone();
                for (var i = 0; i < raw.Length; i += 4)
                {
                    var v = Math.Clamp(BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i)), (float)Half.MinValue, (float)Half.MaxValue);
                    BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i), (float)(Half)v);
                }
                return t with { RawData = raw };
            })],
        },
    };

    private static float[] RunDecoder(string path, float[] latents, bool half)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(path, options);
        long[] shape = [1, 4, LatentSize, LatentSize];
        using var input = half
            ? OrtValue.CreateTensorValueFromMemory(latents.Select(v => new Float16(BitConverter.HalfToUInt16Bits((Half)v))).ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(latents, shape);
        using var results = session.Run(new RunOptions(), ["latent_sample"], [input], ["sample"]);
        return half
            ? [.. results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(v => (float)BitConverter.UInt16BitsToHalf(v.value))]
            : results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
