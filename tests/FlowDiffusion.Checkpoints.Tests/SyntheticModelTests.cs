using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class SyntheticModelTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-synthetic-" + Guid.NewGuid().ToString("N"));

    private static string TinyTokenizer { get; } = Path.Combine(RepoRoot(), "models", "tiny-sd", "tokenizer");

    [Fact]
    public void Sd15_layout_builds_graphs_with_stable_diffusion_15s_parameter_counts()
    {
        // Published counts of runwayml/stable-diffusion-v1-5 (diffusers' parameters()); the VAE decoder with post_quant_conv.
        var layout = Sd1Layout.Sd15;
        Assert.Equal(859_520_964, Sd1Layout.Count(layout.UNet()));
        Assert.Equal(123_060_480, Sd1Layout.Count(layout.TextEncoder()));
        Assert.Equal(49_490_199, Sd1Layout.Count(layout.VaeDecoder()));
        Assert.Equal(83_653_863, Sd1Layout.Count(layout.Vae()));

        // The graphs are built from a checkpoint that holds shapes only (no value is generated or read), and every
        // tensor of the layout is bound exactly once: architecture detection and builders agree with the layout.
        RandomCheckpoint.Write(layout, _scratch, seed: 0, shapesOnly: true);
        using var checkpoint = Sd1Checkpoint.Open(_scratch);
        Assert.Equal([320, 640, 1280, 1280], checkpoint.UNet!.LevelChannels);
        Assert.Equal([true, true, true, false], checkpoint.UNet.AttentionLevels);
        Assert.Equal((768, 8, 4), (checkpoint.UNet.ContextWidth, checkpoint.UNet.Heads, checkpoint.UNet.InChannels));
        Assert.Equal((49408, 77, 768, 12, 12), (checkpoint.TextEncoder!.Vocabulary, checkpoint.TextEncoder.Positions, checkpoint.TextEncoder.Width, checkpoint.TextEncoder.Layers, checkpoint.TextEncoder.Heads));
        Assert.Equal([128, 256, 512, 512], checkpoint.Vae!.LevelChannels);

        var unet = new CountingBinding();
        checkpoint.BuildUNet(unet);
        Assert.Equal(859_520_964, unet.Values);
        Assert.Equal(layout.UNet().Count(), unet.Tensors);
        var text = new CountingBinding();
        checkpoint.BuildTextEncoder(text);
        Assert.Equal(123_060_480, text.Values);
        var decoder = new CountingBinding();
        checkpoint.BuildVaeDecoder(decoder);
        Assert.Equal(49_490_199, decoder.Values);
        Assert.Equal(layout.VaeDecoder().Count(), decoder.Tensors);
        var encoder = new CountingBinding();
        checkpoint.BuildVaeEncoder(encoder);
        Assert.Equal(83_653_863 - 49_490_199, encoder.Values);
    }

    [Fact]
    public void Tiny_generated_model_runs_in_fp32_and_fp16_with_the_same_weights_and_is_reproducible_by_seed()
    {
        var fp32 = Path.Combine(_scratch, "fp32");
        var fp16 = Path.Combine(_scratch, "fp16");
        SyntheticModel.Generate(Sd1Layout.Tiny, fp32, TinyTokenizer, seed: 7, float16: false);
        SyntheticModel.Generate(Sd1Layout.Tiny, fp16, TinyTokenizer, seed: 7, float16: true);
        Assert.Equal(["fp16", "fp32"], Directory.GetFileSystemEntries(_scratch).Select(Path.GetFileName).Order());

        var sample = Enumerable.Range(0, 2 * 4 * 8 * 8).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var context = Enumerable.Range(0, 2 * 77 * 64).Select(i => MathF.Cos(i * 0.11f)).ToArray();
        float[] timestep = [999f, 261f];
        var unet32 = Run(Path.Combine(fp32, "unet", "model.onnx"), false, ("sample", sample, [2, 4, 8, 8]), ("timestep", timestep, [2]), ("encoder_hidden_states", context, [2, 77, 64]));
        var unet16 = Run(Path.Combine(fp16, "unet", "model.onnx"), true, ("sample", sample, [2, 4, 8, 8]), ("timestep", timestep, [2]), ("encoder_hidden_states", context, [2, 77, 64]));
        Assert.Equal(2 * 4 * 8 * 8, unet32.Length);
        Assert.All(unet32, v => Assert.True(float.IsFinite(v)));
        Assert.True(unet32.Select(MathF.Abs).Max() > 1e-3f, "random weights should give a non-zero prediction");
        // The checkpoint holds float16 values, so both exports carry the same weights and differ only in arithmetic.
        AssertClose(unet32, unet16, 0.02f, "unet out_sample");

        var latent = sample.Take(4 * 8 * 8).ToArray();
        var image32 = Run(Path.Combine(fp32, "vae_decoder", "model.onnx"), false, ("latent_sample", latent, [1, 4, 8, 8]));
        var image16 = Run(Path.Combine(fp16, "vae_decoder", "model.onnx"), true, ("latent_sample", latent, [1, 4, 8, 8]));
        Assert.Equal(3 * 64 * 64, image32.Length);
        AssertClose(image32, image16, 0.02f, "vae_decoder sample");

        // Same seed: the same bytes; another seed: other weights.
        var again = Path.Combine(_scratch, "again");
        var other = Path.Combine(_scratch, "other");
        SyntheticModel.Generate(Sd1Layout.Tiny, again, TinyTokenizer, seed: 7, float16: false);
        SyntheticModel.Generate(Sd1Layout.Tiny, other, TinyTokenizer, seed: 8, float16: false);
        var data = Path.Combine("unet", Export.DiffusersOnnxFolder.WeightsFile);
        Assert.Equal(File.ReadAllBytes(Path.Combine(fp32, data)), File.ReadAllBytes(Path.Combine(again, data)));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(fp32, data)), File.ReadAllBytes(Path.Combine(other, data)));
        Assert.Equal(new FileInfo(Path.Combine(fp32, data)).Length, 2 * new FileInfo(Path.Combine(fp16, data)).Length);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    private static float[] Run(string model, bool float16, params (string Name, float[] Values, long[] Shape)[] inputs)
    {
        using var session = new InferenceSession(model);
        var values = inputs.Select(i => float16
            ? OrtValue.CreateTensorValueFromMemory(i.Values.Select(v => new Float16(BitConverter.HalfToUInt16Bits((Half)v))).ToArray(), i.Shape)
            : OrtValue.CreateTensorValueFromMemory(i.Values, i.Shape)).ToArray();
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), values, [session.OutputNames[0]]);
            return float16
                ? results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray()
                : results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = Math.Max(1f, expected.Select(MathF.Abs).Max());
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(worst <= tolerance * scale, $"{what}: fp16 differs from fp32 by {worst} (scale {scale}, tolerance {tolerance})");
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }

    // Records what a builder binds and returns a placeholder initializer, so no weight value is read or written.
    private sealed class CountingBinding : WeightBinding
    {
        public long Values { get; private set; }

        public int Tensors { get; private set; }

        public override OnnxTensor Bind(string name, StoredTensor stored)
        {
            var count = stored.Shape.Aggregate(1L, (a, d) => a * d);
            Values += count;
            Tensors++;
            return OnnxTensor.FromExternal(name, TensorElementType.Float, stored.Shape, new OnnxExternalData("unused", 0, count * 4));
        }
    }
}
