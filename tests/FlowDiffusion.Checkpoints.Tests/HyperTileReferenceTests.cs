using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph with HyperTile's input (<see cref="UNetExtraInputs.HyperTile"/>) and the host's tiles
/// (<see cref="HyperTile.Tiles"/>) against ComfyUI's HyperTile patch in torch (tools/reference/make_hypertile.py) on the
/// tiny SD 1.x and SDXL checkpoints, whose attention is at their second level (depth 1) and in the middle block, at square
/// and wide latents, batch 2 in one call. Tolerance 1e-4 on predictions of magnitude ~1 (float32 against torch); each tiled
/// case differs from the plain UNet by more than 0.3.
/// </summary>
public sealed class HyperTileReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "hypertile");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-hypertile-").FullName;

    [Theory]
    [InlineData("square_depth1", 32, 2, 1, false)]
    [InlineData("wide_depth1", 32, 1, 1, false)]
    [InlineData("wide_rows_only", 48, 2, 1, false)]
    [InlineData("scale_depth_square", 32, 2, 1, true)]
    [InlineData("small_tile_depth2", 8, 2, 2, false)]
    public void HyperTile_graph_matches_ComfyUI_HyperTile_in_torch(string name, int tileSize, int swapSize, int maxDepth, bool scaleDepth)
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        var tile = new HyperTile(tileSize, swapSize, maxDepth, scaleDepth);
        Assert.Equal([tileSize, swapSize, maxDepth, scaleDepth ? 1 : 0], Load(name + ".params").Values);
        var sample = Load(name + ".sample");
        Assert.Equal(Load(name + ".tiles").Values, tile.Tiles((int)sample.Shape[2], (int)sample.Shape[3]).Select(v => (float)v));

        Assert.True(unet.TakesHyperTile);
        var actual = Predict(unet, sample, new UNetVariantInputs(HyperTile: tile));
        Reference.AssertClose(Load(name + ".out_sample"), actual, Tolerance, $"HyperTile {name} out_sample");
        Assert.True(Reference.MaxDifference(actual.Values, Load(name + ".plain").Values) > 0.3, "the case must be far from the plain UNet");
    }

    [Fact]
    public void HyperTile_where_nothing_is_tiled_is_the_plain_UNet_bit_for_bit()
    {
        using var cache = new OnnxSessionCache();
        var sample = Load("depth0_only.sample");
        var plain = Predict(Open(cache, UNetExtraInputs.None), sample, new UNetVariantInputs());
        var every = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        Reference.AssertClose(Load("depth0_only.plain"), plain, Tolerance, "plain out_sample");

        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs()).Values);
        // Depth 0 is tiled 4 × 4 (a row of 256 tokens is fed) but no block of the tiny UNet attends at 16 × 16 tokens.
        var depth0 = new HyperTile(32, 2, 0, false);
        Assert.Equal([256, 4, 4, 16], depth0.Tiles(16, 16));
        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs(HyperTile: depth0)).Values);
        Assert.Equal(Load("depth0_only.out_sample").Values, Load("depth0_only.plain").Values);
        // ComfyUI's default tile (256 pixels: 32 latent pixels) cuts an 8 × 8 grid into one tile: no row, the plain graph.
        var defaults = new HyperTile(256, 2, 1, false);
        Assert.Empty(defaults.Tiles(16, 16));
        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs(HyperTile: defaults)).Values);
    }

    [Fact]
    public void Sdxl_HyperTile_graph_matches_torch()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var every = checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph).ToBytes();
        var sample = Load("sdxl.sample");
        var rows = new HyperTile(32, 2, 1, false).Tiles((int)sample.Shape[2], (int)sample.Shape[3]);
        Assert.Equal(Load("sdxl.tiles").Values, rows.Select(v => (float)v));
        (string, OrtValue)[] Inputs() =>
        [
            ("sample", Reference.Floats(sample)),
            ("timestep", Reference.Floats(Load("sdxl.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Load("sdxl.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Load("sdxl.text_embeds"))),
            ("time_ids", Reference.Floats(Load("sdxl.time_ids"))),
        ];
        var plain = Reference.Run(every, Inputs())["out_sample"];
        var tiled = Reference.Run(every, [.. Inputs(), (HyperTile.TilesInput, OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / 4, 4]))])["out_sample"];

        Reference.AssertClose(Load("sdxl.plain"), plain, Tolerance, "SDXL plain out_sample");
        Reference.AssertClose(Load("sdxl.out_sample"), tiled, Tolerance, "SDXL HyperTile out_sample");
        Assert.True(Reference.MaxDifference(plain.Values, tiled.Values) > 0.3, "HyperTile must change the SDXL prediction");
    }

    [Fact]
    public void Graph_name_is_the_runtime_name_and_bad_settings_are_refused_by_name()
    {
        using var cache = new OnnxSessionCache();
        Assert.Equal(HyperTilePatch.TilesName, HyperTile.TilesInput);
        var sample = Load("square_depth1.sample");
        var tile = new HyperTile(32, 2, 1, false);
        var plain = Open(cache, UNetExtraInputs.None);
        Assert.False(plain.TakesHyperTile);
        Assert.Contains("builder version 14", Assert.Throws<ArgumentException>(() => Predict(plain, sample, new UNetVariantInputs(HyperTile: tile))).Message);
        var every = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        Assert.Contains("swap_size 3 is not supported", Assert.Throws<ArgumentException>(() => Predict(every, sample, new UNetVariantInputs(HyperTile: tile with { SwapSize = 3 }))).Message);
        Assert.Contains("tile_size", new HyperTile(0, 2, 0, false).Problem());
        Assert.Contains("max_depth", new HyperTile(256, 2, 11, false).Problem());
        Assert.Null(new HyperTile(2048, 1, 10, true).Problem());
    }

    [Fact]
    public void Fp16_export_keeps_the_int64_tiles_input_and_tiles_in_half_precision()
    {
        // The If branches add no float constants, so the fp16 graph runs both; batch 2 at timestep 500 against torch's float32.
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var model = Float16Model.Convert(checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph));
        Assert.Contains(model.Graph.Inputs, i => i.Name == HyperTile.TilesInput && i.ElementType == Onnx.Proto.TensorElementType.Int64);
        var sample = Load("wide_depth1.sample");
        var hidden = Load("encoder_hidden_states");
        var rows = new HyperTile(32, 1, 1, false).Tiles((int)sample.Shape[2], (int)sample.Shape[3]);
        using var session = new InferenceSession(model.ToBytes());
        float[] Run(bool tiled)
        {
            var inputs = new List<NamedOnnxValue>
            {
                Reference.Half("sample", sample.Values, sample.Shape),
                Reference.Half("timestep", [500, 500], [2]),
                Reference.Half("encoder_hidden_states", hidden.Values, hidden.Shape),
            };
            if (tiled) inputs.Add(NamedOnnxValue.CreateFromTensor(HyperTile.TilesInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(rows, [rows.Length / 4, 4])));
            using var results = session.Run(inputs);
            return [.. results[0].AsTensor<Float16>().Select(v => (float)v)];
        }

        Assert.True(Reference.MaxDifference(Load("wide_depth1.out_sample").Values, Run(tiled: true)) < 0.05, "fp16 HyperTile follows torch's float32");
        Assert.True(Reference.MaxDifference(Load("wide_depth1.plain").Values, Run(tiled: false)) < 0.05, "the fp16 graph off is the plain UNet");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static (float[] Values, long[] Shape) Load(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private UNetVariant Open(OnnxSessionCache cache, UNetExtraInputs extras)
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var path = Path.Combine(_scratch, $"unet-{(int)extras}.onnx");
        File.WriteAllBytes(path, checkpoint.BuildUNet(extras).ToBytes());
        return UNetVariant.Open(cache, new OnnxModelSource(path));
    }

    // Both rows in one call (the reference's timestep is 500 for each), so the tiles' batch holds B · nh · nw rows.
    private static (float[] Values, long[] Shape) Predict(UNetVariant unet, (float[] Values, long[] Shape) sample, UNetVariantInputs inputs)
    {
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var hidden = Load("encoder_hidden_states");
        var prediction = new float[shape.Length];
        unet.Predict(sample.Values, shape, Load("timestep").Values[0], hidden.Values, (int)hidden.Shape[1], inputs, prediction, CancellationToken.None);
        return (prediction, sample.Shape);
    }
}
