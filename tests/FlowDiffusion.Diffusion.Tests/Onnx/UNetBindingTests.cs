using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// The UNet's I/O-binding path (issue 17 item 5), which GPU providers take, forced on the CPU: the same predictions
/// as the plain path bit for bit, the conditioning bound once per change, and a new binding for a re-created session.
/// On the CPU the binding binds copies of the conditioning taken at bind time, as a device holds them, so a change
/// that is written but not bound again shows in the prediction.
/// </summary>
public sealed class UNetBindingTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private static readonly LatentShape Shape = new(2, 4, 8, 8);
    private static readonly float[] Timesteps = [999f, 800f, 601f, 400f, 250f, 21f];
    private static readonly OnnxSessionOptions KeepFloat16 = OnnxSessionOptions.Cpu with { UpcastFloat16 = false };

    private readonly OnnxSessionCache _cache = new();

    public static TheoryData<string> Exports => ["analytic fp32", "analytic fp32 int64 timestep", "analytic fp16", "sdxl+lcm fp32", "sdxl+lcm fp16"];

    [Theory]
    [MemberData(nameof(Exports))]
    public void Bound_runs_predict_bit_for_bit_what_plain_runs_predict_over_a_sampling_loop(string export)
    {
        var (model, options) = Export(export);
        using var plain = UNet.Open(_cache, model, options);
        using var bound = UNet.Open(_cache, model, options);
        bound.BindsInputs = true;
        var conditioning = Conditioning(plain, seed: 0);

        for (var step = 0; step < Timesteps.Length; step++)
        {
            var sample = Sample(step);
            // One timestep per batch item, different within the batch.
            float[] timestep = [Timesteps[step], Timesteps[step] - 1];

            var expected = Predict(plain, sample, timestep, conditioning);
            var actual = Predict(bound, sample, timestep, conditioning);

            AssertBitIdentical(expected, actual, $"{export}, step {step}");
        }
        // The fp16 exports run as fp16 (not upcast), so the bound tensors hold float16 conversions.
        Assert.Equal(export.EndsWith("fp16", StringComparison.Ordinal) ? TensorElementType.Float16 : TensorElementType.Float, bound.SampleType);
        Assert.False(plain.BindsInputs);
        Assert.Equal(0, plain.ConditioningBinds);
        Assert.Equal(1, bound.ConditioningBinds);
        Assert.Equal(Timesteps.Length, bound.RunCount);
        Assert.Equal(1, bound.BufferAllocations);
    }

    [Theory]
    [InlineData("analytic fp32")]
    [InlineData("analytic fp16")]
    [InlineData("sdxl+lcm fp32")]
    public void Conditioning_is_bound_again_only_when_it_changes_and_the_new_one_is_used(string export)
    {
        var (model, options) = Export(export);
        using var plain = UNet.Open(_cache, model, options);
        using var bound = UNet.Open(_cache, model, options);
        bound.BindsInputs = true;
        var first = Conditioning(plain, seed: 0);
        var second = Conditioning(plain, seed: 1);

        for (var step = 0; step < 3; step++)
        {
            Predict(bound, Sample(step), [Timesteps[step]], first);
        }
        Assert.Equal(1, bound.ConditioningBinds);

        var changed = Predict(bound, Sample(3), [Timesteps[3]], second);

        Assert.Equal(2, bound.ConditioningBinds);
        AssertBitIdentical(Predict(plain, Sample(3), [Timesteps[3]], second), changed, export);
        Assert.NotEqual(Predict(plain, Sample(3), [Timesteps[3]], first), changed);

        Predict(bound, Sample(4), [Timesteps[4]], second);
        Assert.Equal(2, bound.ConditioningBinds);
        AssertBitIdentical(Predict(plain, Sample(5), [Timesteps[5]], first), Predict(bound, Sample(5), [Timesteps[5]], first), export);
        Assert.Equal(3, bound.ConditioningBinds);
    }

    [Fact]
    public void Changing_only_sdxls_size_numbers_binds_again_and_is_used()
    {
        var (model, options) = Export("sdxl+lcm fp32");
        using var plain = UNet.Open(_cache, model, options);
        using var bound = UNet.Open(_cache, model, options);
        bound.BindsInputs = true;
        var first = Conditioning(plain, seed: 0);
        var resized = first with { TimeIds = [.. first.TimeIds.Select(v => v * 2)] };

        Predict(bound, Sample(0), [Timesteps[0]], first);
        var changed = Predict(bound, Sample(1), [Timesteps[1]], resized);

        Assert.Equal(2, bound.ConditioningBinds);
        AssertBitIdentical(Predict(plain, Sample(1), [Timesteps[1]], resized), changed, "time_ids changed");
        Assert.NotEqual(Predict(plain, Sample(1), [Timesteps[1]], first), changed);
    }

    [Theory]
    [InlineData("analytic fp32")]
    [InlineData("sdxl+lcm fp32")]
    public void A_session_the_cache_unloaded_between_steps_gets_a_new_binding(string export)
    {
        var (model, options) = Export(export);
        using var plain = UNet.Open(_cache, model, options);
        using var bound = UNet.Open(_cache, model, options);
        bound.BindsInputs = true;
        var conditioning = Conditioning(plain, seed: 0);
        var expected = Predict(plain, Sample(1), [Timesteps[1]], conditioning);
        var unloaded = 0;
        _cache.Unloaded += (_, _) => unloaded++;

        Predict(bound, Sample(0), [Timesteps[0]], conditioning);
        _cache.Trim();
        Assert.Equal(1, unloaded);
        Assert.Equal(0, _cache.Count);
        var afterReload = Predict(bound, Sample(1), [Timesteps[1]], conditioning);

        AssertBitIdentical(expected, afterReload, export);
        // The same conditioning, bound again because the binding was made for the new session.
        Assert.Equal(2, bound.ConditioningBinds);
        Assert.Equal(1, bound.BufferAllocations);
    }

    [Fact]
    public void A_cancelled_bound_run_leaves_its_new_conditioning_to_be_bound_by_the_next_run()
    {
        var (model, options) = Export("analytic fp32");
        using var plain = UNet.Open(_cache, model, options);
        using var bound = UNet.Open(_cache, model, options);
        bound.BindsInputs = true;
        var first = Conditioning(plain, seed: 0);
        var second = Conditioning(plain, seed: 1);
        Predict(bound, Sample(0), [Timesteps[0]], first);

        Assert.Throws<OperationCanceledException>(() => Predict(bound, Sample(1), [Timesteps[1]], second, new CancellationToken(canceled: true)));
        var next = Predict(bound, Sample(1), [Timesteps[1]], second);

        Assert.Equal(2, bound.ConditioningBinds);
        Assert.Equal(2, bound.RunCount);
        AssertBitIdentical(Predict(plain, Sample(1), [Timesteps[1]], second), next, "after cancellation");
    }

    [Fact]
    public void Unets_on_the_cpu_provider_run_without_binding_by_default()
    {
        using var unet = UNet.Open(_cache, Export("analytic fp32").Model);

        unet.Predict(Sample(0), Shape, [Timesteps[0]], Conditioning(unet, 0).HiddenStates, Tokens);

        Assert.False(unet.BindsInputs);
        Assert.Equal(0, unet.ConditioningBinds);
    }

    public void Dispose() => _cache.Dispose();

    private const int Tokens = 77;

    private (string Model, OnnxSessionOptions Options) Export(string name) => name switch
    {
        "analytic fp32" => (Unet(AnalyticVariant.Default), OnnxSessionOptions.Cpu),
        "analytic fp32 int64 timestep" => (Unet(new AnalyticVariant(TimestepInput.Int64Vector)), OnnxSessionOptions.Cpu),
        // Kept float16 on the CPU, so the pinned tensors hold float16 conversions of the float32 values compared.
        "analytic fp16" => (Unet(AnalyticVariant.Float16), KeepFloat16),
        "sdxl+lcm fp32" => (SdxlLcmUnet(OnnxType.Float), OnnxSessionOptions.Cpu),
        "sdxl+lcm fp16" => (SdxlLcmUnet(OnnxType.Float16), KeepFloat16),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private string Unet(AnalyticVariant variant) => Path.Combine(models.Folder(variant), "unet", "model.onnx");

    // A UNet with every conditioning input the UNet class binds: out_sample = sample · timestep/1000 +
    // reshape(Σ_tokens hidden · Wh + text_embeds · We + time_ids · Wt + timestep_cond · Wc, [B, 4, 1, 1]), computed in
    // float32 between inputs and output of the given type.
    private string SdxlLcmUnet(OnnxType type)
    {
        var path = Path.Combine(models.Root, $"binding-sdxl-lcm-{type}", "model.onnx");
        if (File.Exists(path))
        {
            return path;
        }
        var g = new GraphBuilder("sdxl_lcm_unet");
        string In(string name, params FlowDiffusion.Onnx.Proto.OnnxDim[] dims)
        {
            var input = g.Input(name, type, dims);
            return type == OnnxType.Float ? input : g.Cast(input, OnnxType.Float);
        }
        string Projection(string name, string x, int rows) =>
            g.MatMul(x, g.Weight(name, [.. Enumerable.Range(0, rows * 4).Select(i => MathF.Sin(i * 0.7f + rows) * 0.5f)], rows, 4));

        var sample = In("sample", "batch", 4, "height", "width");
        var timestep = In("timestep", "batch");
        var hidden = In("encoder_hidden_states", "batch", "sequence", 8);
        var textEmbeds = In("text_embeds", "batch", 5);
        var timeIds = In("time_ids", "batch", 6);
        var timestepCond = In("timestep_cond", "batch", 8);
        var added = g.Add(
            g.Add(Projection("hidden_proj", g.ReduceSum(hidden, [1], keepDims: false), 8), Projection("text_embeds_proj", textEmbeds, 5)),
            g.Add(Projection("time_ids_proj", timeIds, 6), Projection("cond_proj", timestepCond, 8)));
        var scaled = g.Mul(sample, g.Reshape(g.Mul(timestep, g.Scalar(1e-3f)), -1, 1, 1, 1));
        var output = g.Add(scaled, g.Reshape(added, -1, 4, 1, 1));
        g.Output(type == OnnxType.Float ? output : g.Cast(output, type), "out_sample", type, "batch", 4, "height", "width");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, g.Build("sdxl_lcm_unet").ToBytes());
        return path;
    }

    private static float[] Sample(int step) => [.. Enumerable.Range(0, Shape.Length).Select(i => MathF.Sin(i * 0.37f + step * 1.3f) * (1 + step))];

    // Conditioning of the widths the UNet takes, different for each seed in every input.
    private static Inputs Conditioning(UNet unet, int seed)
    {
        var width = unet.TakesAddedConditioning ? 8 : 4;
        var hidden = new float[Shape.Batch * Tokens * width];
        for (var i = 0; i < hidden.Length; i++)
        {
            // The analytic UNet reads token 1's first four values as (r, g, b, 1); keep them a colour that changes with the seed.
            hidden[i] = MathF.Abs(MathF.Sin(i * 0.11f + seed * 2.1f));
        }
        if (!unet.TakesAddedConditioning)
        {
            for (var b = 0; b < Shape.Batch; b++)
            {
                hidden[((b * Tokens) + 1) * width + 3] = 1f;
            }
        }
        float[] Row(int count, float phase) => [.. Enumerable.Range(0, Shape.Batch * count).Select(i => MathF.Cos(i * 0.5f + phase + seed))];
        return new Inputs(
            hidden,
            unet.TakesAddedConditioning ? Row(5, 0.1f) : [],
            unet.TakesAddedConditioning ? Row(unet.TimeIdCount, 0.2f) : [],
            unet.GuidanceEmbeddingWidth is { } condWidth ? Row(condWidth, 0.3f) : []);
    }

    private static float[] Predict(UNet unet, float[] sample, float[] timesteps, Inputs conditioning, CancellationToken cancellationToken = default)
    {
        var prediction = new float[Shape.Batch * unet.OutChannels * Shape.Height * Shape.Width];
        unet.Predict(sample, Shape, timesteps, conditioning.HiddenStates, Tokens, conditioning.TextEmbeds, conditioning.TimeIds, conditioning.TimestepCond, prediction, cancellationToken);
        return prediction;
    }

    private static void AssertBitIdentical(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"{what}: element {i} is {actual[i]}, not {expected[i]}");
        }
    }

    private sealed record Inputs(float[] HiddenStates, float[] TextEmbeds, float[] TimeIds, float[] TimestepCond);
}
