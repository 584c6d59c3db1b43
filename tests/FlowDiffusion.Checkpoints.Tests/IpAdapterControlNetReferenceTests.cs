using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph variant that takes ControlNet residuals and IP-Adapter keys and values together, through the one
/// <see cref="UNetVariant"/> wrapper, against torch (tools/reference/make_ipadapter_controlnet.py) on the tiny SD 1.x and
/// SDXL checkpoints: both act in the same step, each row at its own image-prompt scale.
/// </summary>
public sealed class IpAdapterControlNetReferenceTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-ipa-cn-").FullName;

    [Fact]
    public void Sd1_UNet_with_ControlNet_residuals_and_an_image_prompt_in_one_step_matches_torch()
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        using var adapterCheckpoint = IpAdapterCheckpoint.Open(Path.Combine(Reference.Folder, "ipadapter", "ip-adapter.safetensors"));
        using var cache = new OnnxSessionCache();
        var adapter = IpAdapterModel.Open(cache, new OnnxModelSource(Write("adapter.onnx", adapterCheckpoint.BuildGraph().ToBytes())));
        var image = adapter.Project(Load(Path.Combine(Reference.Folder, "ipadapter"), "a.image_embeds").Values, 1, CancellationToken.None);
        var unet = UNetVariant.Open(cache, new OnnxModelSource(Write("both.onnx", checkpoint.BuildUNet(UNetExtraInputs.ControlResiduals | UNetExtraInputs.IpAdapter).ToBytes())));
        Assert.True(unet.TakesResiduals);
        Assert.Equal(IpAdapterLayers.Channels(checkpoint.UNet!), unet.IpChannels);

        var sample = ControlNetReferenceTests.Tensor("sample");
        var hidden = ControlNetReferenceTests.Tensor("encoder_hidden_states");
        var timestep = ControlNetReferenceTests.Tensor("timestep").Values;
        var residuals = ControlResiduals.Names(checkpoint.UNet!).ToDictionary(n => n, n => Residual(ControlNetReferenceTests.Tensor(n), n), StringComparer.Ordinal);
        var layers = unet.IpChannels.Count;
        var scales = Enumerable.Repeat(0.7f, layers).Concat(Enumerable.Repeat(0.3f, layers)).ToArray();
        var expected = Load(SdFolder, "sd1.both");
        // The torch rows have timesteps 999 and 17; the graph takes one per call, so each row runs alone.
        var actual = new float[expected.Values.Length];
        var rowLength = actual.Length / 2;
        for (var row = 0; row < 2; row++)
        {
            var inputs = new UNetVariantInputs(
                Residuals: residuals.ToDictionary(r => r.Key, r => Row(r.Value, row), StringComparer.Ordinal),
                ImagePrompt: new IpAttention([image], scales[(row * layers)..((row + 1) * layers)]));
            unet.Predict(RowOf(sample.Values, row, 2), new LatentShape(1, 4, 8, 8), timestep[row], RowOf(hidden.Values, row, 2), 77, inputs, actual.AsSpan(row * rowLength, rowLength), CancellationToken.None);
        }

        Reference.AssertClose(expected, (actual, expected.Shape), 1e-4, "out_sample with residuals and image a at 0.7 / 0.3");
        Assert.True(MaxDifference(ControlNetReferenceTests.Tensor("unet.controlled").Values, actual) > 0.1, "the image prompt must move the controlled prediction");
        var noPrompt = Assert.Throws<ArgumentException>(() => unet.Predict(RowOf(sample.Values, 0, 2), new LatentShape(1, 4, 8, 8), 999f, RowOf(hidden.Values, 0, 2), 77, new UNetVariantInputs(Residuals: residuals.ToDictionary(r => r.Key, r => Row(r.Value, 0))), actual.AsSpan(0, rowLength), CancellationToken.None));
        Assert.Contains("IP-Adapter", noPrompt.Message);
    }

    [Fact]
    public void Sdxl_UNet_with_ControlNet_residuals_and_an_image_prompt_in_one_step_matches_torch()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        using var cache = new OnnxSessionCache();
        var unet = UNetVariant.Open(cache, new OnnxModelSource(Write("sdxl-both.onnx", checkpoint.BuildUNet(UNetExtraInputs.ControlResiduals | UNetExtraInputs.IpAdapter).ToBytes())));
        Assert.True(unet.TakesAddedConditioning);
        // Depths 0/2: two blocks in the down level, four in the up level, two in the middle, all 32 wide.
        Assert.Equal(Enumerable.Repeat(32, 8), unet.IpChannels);

        var controlnet = Path.Combine(SdxlReference.Folder, "controlnet");
        var sample = Load(controlnet, "sample");
        var timestep = Load(controlnet, "timestep").Values;
        var hidden = Load(controlnet, "encoder_hidden_states");
        var textEmbeds = Load(controlnet, "text_embeds").Values;
        var timeIds = Load(controlnet, "time_ids").Values;
        var residuals = ControlResiduals.Names(checkpoint.UNet!).ToDictionary(n => n, n => Residual(Load(controlnet, n), n), StringComparer.Ordinal);
        var keys = Enumerable.Range(0, 8).Select(n => Load(XlFolder, IpAdapterLayers.Key(n)).Values).ToList();
        var values = Enumerable.Range(0, 8).Select(n => Load(XlFolder, IpAdapterLayers.Value(n)).Values).ToList();
        var expected = Load(XlFolder, "sdxl.both");
        var actual = new float[expected.Values.Length];
        var rowLength = actual.Length / 2;
        for (var row = 0; row < 2; row++)
        {
            var prompt = new IpKeysValues(4, [.. Enumerable.Repeat(32, 8)], [.. keys.Select(k => RowOf(k, row, 2))], [.. values.Select(v => RowOf(v, row, 2))]);
            var inputs = new UNetVariantInputs(
                RowOf(textEmbeds, row, 2), RowOf(timeIds, row, 2),
                Residuals: residuals.ToDictionary(r => r.Key, r => Row(r.Value, row), StringComparer.Ordinal),
                ImagePrompt: new IpAttention([prompt], [.. Enumerable.Repeat(row == 0 ? 0.7f : 0.3f, 8)]));
            unet.Predict(RowOf(sample.Values, row, 2), new LatentShape(1, 4, 8, 8), timestep[row], RowOf(hidden.Values, row, 2), (int)hidden.Shape[1], inputs, actual.AsSpan(row * rowLength, rowLength), CancellationToken.None);
        }

        Reference.AssertClose(expected, (actual, expected.Shape), 1e-4, "SDXL out_sample with residuals and image keys at 0.7 / 0.3");
        Assert.True(MaxDifference(Load(controlnet, "unet.controlled").Values, actual) > 0.1, "the image prompt must move the controlled prediction");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    internal static string SdFolder => Path.Combine(Reference.Folder, "ipadapter-controlnet");

    private static string XlFolder => Path.Combine(SdxlReference.Folder, "ipadapter-controlnet");

    internal static (float[] Values, long[] Shape) Load(string folder, string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private string Write(string name, byte[] model)
    {
        var path = Path.Combine(_scratch, name);
        File.WriteAllBytes(path, model);
        return path;
    }

    private static ControlResidual Residual((float[] Values, long[] Shape) tensor, string name) => new(name, tensor.Values, tensor.Shape);

    private static ControlResidual Row(ControlResidual residual, int row) =>
        new(residual.Name, RowOf(residual.Values, row, (int)residual.Shape[0]), [1, .. residual.Shape[1..]]);

    private static float[] RowOf(float[] values, int row, int rows)
    {
        var length = values.Length / rows;
        return values.AsSpan(row * length, length).ToArray();
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();
}
