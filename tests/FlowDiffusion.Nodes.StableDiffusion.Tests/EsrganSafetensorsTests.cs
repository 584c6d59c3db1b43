using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// upscale.load on ESRGAN .safetensors files (tools/reference/make_esrgan.py: tiny RRDBNets written from the ESRGAN paper),
/// converted to ONNX on first load and run by image.upscale_with_model, against torch; Real-ESRGAN's .pth (a PyTorch
/// checkpoint with params_ema) upscales the same; Real-ESRGAN's compact generator (SRVGGNetCompact: realesr-general-x4v3,
/// realesr-animevideov3; tools/reference/make_compact.py) as a .pth and a .safetensors too, and SPAN (2x-ClearRealityV1,
/// 4xNomos8k_span_otf_strong; tools/reference/make_span.py) likewise; a damaged pickle or SPAN file is refused by name.
/// </summary>
public sealed class EsrganSafetensorsTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "esrgan");

    [Theory]
    [InlineData("rrdb-x4.safetensors")]
    [InlineData("rrdb-x4-old.safetensors")]
    [InlineData("../torch/rrdb-x4.pth")]
    public async Task An_esrgan_safetensors_upscales_as_torch_does(string file)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(file, 1024, 32), new Dictionary<string, object?>())).AssertCompleted();
        var image = run.Image("up", "upscaled");
        Assert.Equal((48, 40), (image.Height, image.Width));
        using var reference = SafetensorsFile.Open(Path.Combine(Data, "reference.safetensors"));
        var expected = reference.ReadFloat32("png_x4");
        var worst = expected.Zip(image.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"max |difference| {worst:G4}");
    }

    [Theory]
    [InlineData("compact-x4.pth", "png_x4", 48, 40)]
    [InlineData("compact-x2.safetensors", "png_x2", 24, 20)]
    public async Task A_compact_real_esrgan_upscales_as_torch_does(string file, string expected, int height, int width)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(file, 1024, 32), new Dictionary<string, object?>())).AssertCompleted();
        var image = run.Image("up", "upscaled");
        Assert.Equal((height, width), (image.Height, image.Width));
        using var reference = SafetensorsFile.Open(Path.Combine(Data, "compact-reference.safetensors"));
        var values = reference.ReadFloat32(expected);
        var worst = values.Zip(image.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"max |difference| {worst:G4}");
    }

    [Fact]
    public async Task A_compact_generator_without_prelu_slopes_is_refused_naming_the_file()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "relu-compact.safetensors");
        using (var source = SafetensorsFile.Open(Path.Combine(Data, "compact-x2.safetensors")))
        {
            // ReLU activations hold no weights: the body's odd indices are missing.
            SafetensorsWriter.Write(path, [.. source.Tensors.Values.Where(t => !(t.Shape.Length == 1 && t.Name.EndsWith(".weight", StringComparison.Ordinal)))
                .Select(t => (t.Name, t.DType, t.Shape, source.GetBytes(t).ToArray()))]);
        }

        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: compact
            nodes:
              model: { node: upscale.load, with: { path: "{{path}}" } }
            """, new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains("relu-compact.safetensors", run.Result.Error);
        Assert.Contains("Activations without weights (ReLU, LeakyReLU)", run.Result.Error);
    }

    [Theory]
    [InlineData("span-x4.pth", "png_x4", 48, 40)]
    [InlineData("span-x2.safetensors", "png_x2", 24, 20)]
    public async Task A_span_upscales_as_torch_does(string file, string expected, int height, int width)
    {
        // The x4 .pth (params_ema) normalises by the RGB mean and 255, the x2 F16 .safetensors has no_norm; both store a
        // stale eval_conv, so only a network that merges each Conv3XC's branches as spandrel does matches torch.
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(file, 1024, 32), new Dictionary<string, object?>())).AssertCompleted();
        var image = run.Image("up", "upscaled");
        Assert.Equal((height, width), (image.Height, image.Width));
        using var reference = SafetensorsFile.Open(Path.Combine(Data, "span-reference.safetensors"));
        var values = reference.ReadFloat32(expected);
        var worst = values.Zip(image.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 1e-4, $"max |difference| {worst:G4}");
    }

    [Theory]
    [InlineData("missing", "SPAN tensor 'block_3.c2_r.conv.1.bias' is missing")]
    [InlineData("shape", "SPAN tensor 'conv_cat.weight' is [8,24,1,1]; expected [8,32,1,1]")]
    [InlineData("stray", "tensor 'block_7.c1_r.sk.weight' fits no SPAN module")]
    [InlineData("variant", "not an upscaler whose weights are converted here")]
    public async Task A_damaged_span_is_refused_naming_the_file_and_tensor(string damage, string message)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "2x-damaged-span.safetensors");
        using (var source = SafetensorsFile.Open(Path.Combine(Data, "span-x2.safetensors")))
        {
            var tensors = source.Tensors.Values.Select(t => (t.Name, t.DType, t.Shape, Bytes: source.GetBytes(t).ToArray())).ToList();
            var sk = tensors.Single(t => t.Name == "block_1.c1_r.sk.weight");
            tensors = damage switch
            {
                "missing" => [.. tensors.Where(t => t.Name != "block_3.c2_r.conv.1.bias")],
                // The concatenation of three feature maps instead of four.
                "shape" => [.. tensors.Select(t => t.Name == "conv_cat.weight" ? (t.Name, t.DType, new long[] { 8, 24, 1, 1 }, t.Bytes[..(8 * 24 * 2)]) : t)],
                // SPANPlus names its first convolution feats.0: spandrel does not detect it as SPAN, nor does anything else here.
                "variant" => [.. tensors.Select(t => t.Name.StartsWith("conv_1.", StringComparison.Ordinal) ? ("feats.0." + t.Name["conv_1.".Length..], t.DType, t.Shape, t.Bytes) : t)],
                _ => [.. tensors, ("block_7.c1_r.sk.weight", sk.DType, sk.Shape, sk.Bytes)],
            };
            SafetensorsWriter.Write(path, [.. tensors]);
        }

        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: span
            nodes:
              model: { node: upscale.load, with: { path: "{{path}}" } }
            """, new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains("2x-damaged-span.safetensors", run.Result.Error);
        Assert.Contains(message, run.Result.Error);
    }

    [Fact]
    public async Task A_pixel_unshuffling_esrgan_runs_on_tiles_of_any_size()
    {
        // 16-pixel tiles over a 37x29 image with overlap 5: tiles of odd sizes reach the network, which pads them itself.
        var yaml = Yaml("rrdb-x2-unshuffle.safetensors", 16, 5).Replace("image: image.image", "image: big.resized", StringComparison.Ordinal)
            + "\n  big: { node: image.resize, in: { image: image.image }, with: { width: 29, height: 37 } }\n";
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var image = run.Image("up", "upscaled");
        Assert.Equal((74, 58), (image.Height, image.Width));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1));
        Assert.True(image.ToArray().Max() - image.ToArray().Min() > 0.1, "the upscale must not be flat");
    }

    [Fact]
    public async Task A_damaged_pickle_upscale_model_is_refused_by_name()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "RealESRGAN_x4plus.pth");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a]);
        var yaml = $$"""
            flowdiffusion: 1
            name: legacy
            nodes:
              model: { node: upscale.load, with: { path: "{{path}}" } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains("RealESRGAN_x4plus.pth", run.Result.Error);
        Assert.Contains("truncated", run.Result.Error);
    }

    private static string Yaml(string file, int tile, int overlap) => $$"""
        flowdiffusion: 1
        name: esrgan
        nodes:
          image: { node: image.load, with: { path: "{{Path.Combine(Data, "image.png")}}" } }
          model: { node: upscale.load, with: { path: "{{Path.Combine(Data, file)}}" } }
          up: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image }, with: { tile_size: {{tile}}, overlap: {{overlap}} } }
        """;
}
