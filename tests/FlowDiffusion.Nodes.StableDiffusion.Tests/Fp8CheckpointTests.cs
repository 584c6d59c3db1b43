using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// Checkpoints stored in fp8, as ComfyUI loads them: the tiny SD 1.x checkpoint with every floating-point tensor rounded
/// to the nearest E4M3 or E5M2 value draws, bit for bit, the image of a float32 checkpoint holding those values (decoded
/// here from the codes' fields, not by the product's decoder); scaled fp8 — each weight stored as the fp8 value of
/// weight / scale with the scale beside it, as ComfyUI's <c>scale_weight</c> and its newer <c>weight_scale</c> — draws
/// the image of the scaled values; a per-channel scale is a node error naming the file and the scale. unet.load's
/// <c>weight_dtype</c> (ComfyUI's UNETLoader) rounds the fp16 UNet's weights to fp8 as such a file holds them: the image
/// of the file, bit for bit.
/// </summary>
public sealed class Fp8CheckpointTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(SafetensorsDType.Float8E4M3, null)]
    [InlineData(SafetensorsDType.Float8E5M2, null)]
    [InlineData(SafetensorsDType.Float8E4M3, "scale_weight")]
    [InlineData(SafetensorsDType.Float8E4M3, "weight_scale")]
    public async Task An_fp8_checkpoint_draws_the_image_of_its_values_in_float32(SafetensorsDType type, string? scaleName)
    {
        var (fp8, values) = Write(type, scaleName, perChannel: false);
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: fp8
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(fp8)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m2: {"{"} node: model.load, with: {"{"} path: "{Slash(values)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m3: {"{"} node: model.load, with: {"{"} path: "{Slash(ModelMergeTests.First)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("fp8", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("values", "m2.unet", "m2.clip", "m2.vae", "m2.tokenizer", "m2.scheduler_config")}
            {ModelMergeTests.Pipeline("original", "m3.unet", "m3.clip", "m3.vae", "m3.tokenizer", "m3.scheduler_config")}
            """, new Dictionary<string, object?>())).AssertCompleted();

        var image = run.Image("fp8_decode").ToArray();
        Assert.Equal(run.Image("values_decode").ToArray(), image);
        // The rounding to fp8 is real: the original fp16 checkpoint draws another image.
        Assert.True(image.Zip(run.Image("original_decode").ToArray(), (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    [Theory]
    [InlineData("fp8_e4m3fn", SafetensorsDType.Float8E4M3)]
    [InlineData("fp8_e4m3fn_fast", SafetensorsDType.Float8E4M3)]
    [InlineData("fp8_e5m2", SafetensorsDType.Float8E5M2)]
    public async Task Weight_dtype_rounds_the_unet_to_fp8_as_a_file_stored_in_fp8_holds_it(string weightDtype, SafetensorsDType type)
    {
        var (fp8, _) = Write(type, scaleName: null, perChannel: false);
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: fp8
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(ModelMergeTests.First)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              rounded: {"{"} node: unet.load, with: {"{"} path: "{Slash(ModelMergeTests.First)}", weight_dtype: {weightDtype} {"}"} {"}"}
              stored: {"{"} node: unet.load, with: {"{"} path: "{Slash(fp8)}" {"}"} {"}"}
              plain: {"{"} node: unet.load, with: {"{"} path: "{Slash(ModelMergeTests.First)}" {"}"} {"}"}
            {ModelMergeTests.Pipeline("rounded", "rounded.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("stored", "stored.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("plain", "plain.unet", "m1.clip")}
            """, new Dictionary<string, object?>())).AssertCompleted();

        var image = run.Image("rounded_decode").ToArray();
        Assert.Equal(run.Image("stored_decode").ToArray(), image);
        Assert.True(image.Zip(run.Image("plain_decode").ToArray(), (a, b) => Math.Abs(a - b)).Max() > 1e-3, "rounding to fp8 should change the image");
    }

    [Fact]
    public async Task Weight_dtype_on_a_scaled_fp8_file_is_a_node_error_naming_the_file()
    {
        var (fp8, _) = Write(SafetensorsDType.Float8E4M3, "scale_weight", perChannel: false);
        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: fp8
            nodes:
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(fp8)}", weight_dtype: fp8_e4m3fn {"}"} {"}"}
            """, new Dictionary<string, object?>());
        failed.AssertFailed("u", Path.GetFileName(fp8), "scaled fp8");
    }

    [Fact]
    public void The_model_list_shows_an_fp8_checkpoint_as_one_with_its_precision()
    {
        var (fp8, _) = Write(SafetensorsDType.Float8E5M2, scaleName: null, perChannel: false);
        var entry = ModelCatalog.Describe(fp8, Path.GetFileName(fp8), "checkpoints")!;
        Assert.True(entry.IsLoadable);
        Assert.StartsWith("SD 1.x (", entry.Architecture, StringComparison.Ordinal);
        Assert.Equal("F8_E5M2", entry.Precision);
    }

    [Fact]
    public async Task A_per_channel_scale_is_a_node_error_naming_the_file_and_the_scale()
    {
        var (fp8, _) = Write(SafetensorsDType.Float8E4M3, "scale_weight", perChannel: true);
        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: fp8
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(fp8)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("fp8", "m1.unet", "m1.clip")}
            """, new Dictionary<string, object?>());
        failed.AssertFailed("m1", Path.GetFileName(fp8), $"'{PerChannelLayer}scale_weight'", "per-channel");
    }

    // The UNet's first convolution: its scale is written per output channel in the per-channel file.
    private const string PerChannelLayer = "model.diffusion_model.input_blocks.0.0.";

    // The tiny checkpoint with every floating-point tensor in fp8 (scaled weights with their scales beside them when
    // scaleName is given), and a float32 checkpoint of the values that file holds.
    private (string Fp8, string Values) Write(SafetensorsDType type, string? scaleName, bool perChannel)
    {
        var name = $"{type}-{scaleName ?? "plain"}{(perChannel ? "-channels" : "")}";
        var (fp8Path, valuesPath) = (Path.Combine(_folder.Path, name + ".safetensors"), Path.Combine(_folder.Path, name + "-values.safetensors"));
        var decode = type == SafetensorsDType.Float8E4M3 ? (Func<byte, float>)E4M3 : E5M2;
        var finite = Enumerable.Range(0, 0x80).Select(c => (Code: (byte)c, Value: decode((byte)c))).Where(c => float.IsFinite(c.Value)).ToArray();
        var fp8 = new List<(string, SafetensorsDType, long[], byte[])>();
        var values = new List<(string, SafetensorsDType, long[], byte[])>();
        using var source = SafetensorsFile.Open(ModelMergeTests.First);
        foreach (var tensor in source.Tensors.Values)
        {
            if (!SafetensorsDTypes.ConvertsToFloat32(tensor.DType))
            {
                fp8.Add((tensor.Name, tensor.DType, tensor.Shape, source.GetBytes(tensor).ToArray()));
                values.Add((tensor.Name, tensor.DType, tensor.Shape, source.GetBytes(tensor).ToArray()));
                continue;
            }

            var original = source.ReadFloat32(tensor.Name);
            var scaled = scaleName is not null && tensor.Name.EndsWith(".weight", StringComparison.Ordinal);
            var scale = scaled ? Math.Max(original.Max(Math.Abs), 1e-12f) / finite[^1].Value : 1f;
            var codes = original.Select(v => Nearest(finite, v / scale)).ToArray();
            fp8.Add((tensor.Name, type, tensor.Shape, codes));
            values.Add((tensor.Name, SafetensorsDType.Float32, tensor.Shape, Bytes(codes.Select(c => decode(c) * scale))));
            if (scaled)
            {
                var layer = tensor.Name[..^"weight".Length];
                long[] shape = perChannel && layer == PerChannelLayer ? [tensor.Shape[0]] : [];
                fp8.Add((layer + scaleName, SafetensorsDType.Float32, shape, Bytes(Enumerable.Repeat(scale, shape.Length == 0 ? 1 : (int)shape[0]))));
            }
        }

        SafetensorsWriter.Write(fp8Path, fp8);
        SafetensorsWriter.Write(valuesPath, values);
        return (fp8Path, valuesPath);
    }

    // The nearest code, ties to the even code (as PyTorch rounds to fp8, which weight_dtype is compared with).
    private static byte Nearest((byte Code, float Value)[] finite, float value)
    {
        var best = finite[0];
        foreach (var c in finite)
        {
            var (distance, bestDistance) = (Math.Abs(c.Value - Math.Abs(value)), Math.Abs(best.Value - Math.Abs(value)));
            if (distance < bestDistance || (distance == bestDistance && c.Code % 2 == 0)) best = c;
        }

        return (byte)(value < 0 && best.Value != 0 ? best.Code | 0x80 : best.Code);
    }

    private static byte[] Bytes(IEnumerable<float> values) => [.. values.SelectMany(BitConverter.GetBytes)];

    // Decoded from the fields as the OCP fp8 specification defines them: E4M3 (bias 7, S.1111.111 the only NaN), E5M2
    // (bias 15, IEEE-like), subnormal when the exponent is 0.
    private static float E4M3(byte code) => Fields(code, exponentBits: 4, bias: 7, nanOnlyAtTop: true);

    private static float E5M2(byte code) => Fields(code, exponentBits: 5, bias: 15, nanOnlyAtTop: false);

    private static float Fields(byte code, int exponentBits, int bias, bool nanOnlyAtTop)
    {
        var mantissaBits = 7 - exponentBits;
        var exponent = (code >> mantissaBits) & ((1 << exponentBits) - 1);
        var mantissa = code & ((1 << mantissaBits) - 1);
        var top = (1 << exponentBits) - 1;
        if (exponent == top && (!nanOnlyAtTop || mantissa == (1 << mantissaBits) - 1)) return float.NaN;
        var magnitude = exponent == 0
            ? mantissa * Math.Pow(2, 1 - bias - mantissaBits)
            : (1 + (mantissa / Math.Pow(2, mantissaBits))) * Math.Pow(2, exponent - bias);
        return (float)((code & 0x80) != 0 ? -magnitude : magnitude);
    }

    private static string Slash(string path) => path.Replace("\\", "/");
}
