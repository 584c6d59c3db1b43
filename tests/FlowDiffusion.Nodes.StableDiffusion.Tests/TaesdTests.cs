using System.Globalization;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// vae.load opens TAESD from its published files (the decoder a float32 .safetensors, the encoder a float16 .pth, as
/// TaesdWeights writes them with make_taesd.py's deterministic weights), and vae.decode / vae.encode give the torch
/// restatement's images and latents (tools/reference/make_taesd.py, ComfyUI's TAESD path: decoder(raw · scale), (y − 0.5) · 2,
/// clamp((y + 1) / 2)) within 2e-4 (measured below 1e-5: ONNX Runtime's convolutions sum in another order than torch's).
/// The latents come from a ComfyUI .latent file of raw latents, so the family's scaling factor (taesdxl: 0.13025) is on
/// the path. Missing and broken files fail naming the file and the tensor.
/// </summary>
public sealed class TaesdTests
{
    private const float Tolerance = 2e-4f;

    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "taesd-reference.json"))).RootElement;

    [Theory]
    [InlineData("taesd", 0.18215f)]
    [InlineData("taesdxl", 0.13025f)]
    public async Task Taesd_decodes_and_encodes_as_the_torch_reference(string name, float scalingFactor)
    {
        using var temp = new TempFolder();
        var folder = TaesdWeights.Shared();
        var reference = Oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        var latent = Floats(Oracle.GetProperty("latent"));
        var shape = Oracle.GetProperty("latent_shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        // ComfyUI's LATENT: the raw latents, which latent.load multiplies by the VAE's scaling factor.
        var file = Path.Combine(temp.Path, "raw.latent");
        SafetensorsWriter.WriteFloat32(file, [("latent_tensor", shape, [.. latent.Select(v => v / scalingFactor)]), ("latent_format_version_0", [0], [])]);
        var yaml = $$"""
            flowdiffusion: 1
            name: taesd
            nodes:
              vae: { node: vae.load, with: { path: "{{Yaml(Path.Combine(folder, name + "_decoder.safetensors"))}}" } }
              latent: { node: latent.load, in: { vae: vae.vae }, with: { path: "{{Yaml(file)}}" } }
              decoded: { node: vae.decode, in: { vae: vae.vae, latent: latent.latent } }
              source: { node: image.load, with: { path: "{{Yaml(WriteImage(temp))}}" } }
              encoded: { node: vae.encode, in: { vae: vae.vae, image: source.image } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        Assert.Equal(scalingFactor, Assert.IsAssignableFrom<IVae>(run.Result.Output("vae", "vae")).ScalingFactor);
        var decoded = Assert.IsType<Image>(run.Result.Output("decoded", "image"));
        Assert.Equal((1, 48, 64), (decoded.Batch, decoded.Height, decoded.Width));
        var expected = Floats(reference.GetProperty("decoded"));
        Assert.True(MaxDifference(decoded.Pixels, expected) <= Tolerance, $"{name}: decoded differs by {MaxDifference(decoded.Pixels, expected)}");
        // An image, not a flat or saturated field.
        Assert.True(expected.Count(v => v is > 0 and < 1) > expected.Length * 9 / 10);

        var encoded = Assert.IsType<Latent>(run.Result.Output("encoded", "latent"));
        Assert.Equal((1, 4, 6, 8), (encoded.Batch, encoded.Channels, encoded.Height, encoded.Width));
        var expectedLatent = Floats(reference.GetProperty("encoded"));
        Assert.True(MaxDifference(encoded.Values, expectedLatent) <= Tolerance, $"{name}: encoded differs by {MaxDifference(encoded.Values, expectedLatent)}");
    }

    [Fact]
    public async Task A_decoder_without_its_encoder_decodes_and_refuses_to_encode_naming_the_file()
    {
        using var temp = new TempFolder();
        var decoder = Path.Combine(temp.Path, "taesd_decoder.safetensors");
        TaesdWeights.WriteDecoder(decoder);
        var yaml = $$"""
            flowdiffusion: 1
            name: taesd-decode-only
            nodes:
              vae: { node: vae.load, with: { path: "{{Yaml(decoder)}}" } }
              noise: { node: latent.empty, with: { width: 64, height: 48 } }
              decoded: { node: vae.decode, in: { vae: vae.vae, latent: noise.latent } }
              source: { node: image.load, with: { path: "{{Yaml(WriteImage(temp))}}" } }
              encoded: { node: vae.encode, in: { vae: vae.vae, image: source.image } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        run.AssertFailed("encoded", "taesd_encoder.safetensors");
    }

    [Theory]
    [InlineData("skip", "5.conv.2.weight")]
    [InlineData("reshape", "19.weight")]
    [InlineData("garbage", "not safetensors")]
    public async Task A_broken_decoder_fails_naming_the_file_and_the_tensor(string damage, string expected)
    {
        using var temp = new TempFolder();
        var decoder = Path.Combine(temp.Path, "taesd_decoder.safetensors");
        if (damage == "garbage") File.WriteAllText(decoder, "not weights");
        else TaesdWeights.WriteDecoder(decoder, skip: damage == "skip" ? expected : null, reshape: damage == "reshape" ? expected : null);
        var run = await DecodeAsync(decoder);
        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("vae", run.Result.FailedNode);
        Assert.True(run.Result.Error!.Contains(decoder, StringComparison.Ordinal) && run.Result.Error.Contains(expected, StringComparison.Ordinal), run.Result.Error);
    }

    [Fact]
    public async Task Taesd3_is_refused_by_name()
    {
        using var temp = new TempFolder();
        var decoder = Path.Combine(temp.Path, "taesd3_decoder.safetensors");
        TaesdWeights.WriteDecoder(decoder);
        var run = await DecodeAsync(decoder);
        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Contains("taesd3", run.Result.Error);
        Assert.Contains("16-channel", run.Result.Error);
    }

    private static Task<SdRun> DecodeAsync(string decoder) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: taesd-broken
        nodes:
          vae: { node: vae.load, with: { path: "{{Yaml(decoder)}}" } }
          noise: { node: latent.empty, with: { width: 64, height: 48 } }
          decoded: { node: vae.decode, in: { vae: vae.vae, latent: noise.latent } }
        """, new Dictionary<string, object?>());

    private static string Yaml(string path) => path.Replace('\\', '/');

    private static float[] Floats(JsonElement base64)
    {
        var bytes = base64.GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static float MaxDifference(ReadOnlySpan<float> actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(actual[i] - expected[i]));
        return worst;
    }

    private static string WriteImage(TempFolder temp)
    {
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        var path = Path.Combine(temp.Path, string.Create(CultureInfo.InvariantCulture, $"pattern-{width}x{height}.png"));
        TestPng.WriteRgb(path, width, height, (x, y) => (rgb[3 * (y * width + x)], rgb[3 * (y * width + x) + 1], rgb[3 * (y * width + x) + 2]));
        return path;
    }
}
