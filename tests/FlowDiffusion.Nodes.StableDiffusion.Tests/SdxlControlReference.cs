using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The tiny SDXL checkpoint's control test data (tools/reference/make_sdxl_controlnet.py and the scripts after it): its
/// files, the end-to-end inputs, and one UNet prediction on them with a conditioning's ControlNets, compared to torch.
/// </summary>
internal static class SdxlControlReference
{
    public static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");

    public static readonly string Checkpoint = Path.Combine(Data, "sdxl-fp16.safetensors");

    public static readonly string ControlFolder = Path.Combine(Data, "controlnet");

    /// <summary>The applied ControlNets of node <paramref name="node"/>'s conditioning.</summary>
    public static Extras ExtrasOf(SdRun run, string node = "controlled") => Assert.IsType<Conditioning>(run.Result.Output(node, "result")).Extras;

    /// <summary>
    /// The UNet's prediction on the end-to-end inputs: the reference's context, pooled text and size numbers replace the
    /// prompt's; the applied ControlNets stay in <paramref name="extras"/>.
    /// </summary>
    public static async Task<float[]> PredictAsync(IUNetModel unet, Extras extras)
    {
        var context = new Conditioning(1, 16, 64, Input("e2e.encoder_hidden_states").Values).WithExtras(extras)
            .With(StandardExtras.PooledText, new ExtraTensor([1, 40], Input("e2e.text_embeds").Values))
            .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], Input("e2e.time_ids").Values));
        var input = new DenoiserInput(Input("e2e.sample").Values, new LatentShape(1, 4, 8, 8), Input("e2e.timestep").Values[0], context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    /// <summary>Tensor <paramref name="name"/> of the SDXL ControlNet reference (the inputs, the plain and controlled predictions).</summary>
    public static (float[] Values, long[] Shape) Input(string name) => Read(Path.Combine(ControlFolder, "reference.safetensors"), name);

    /// <summary>Tensor <paramref name="name"/> of the safetensors file <paramref name="path"/>, as float32.</summary>
    public static (float[] Values, long[] Shape) Read(string path, string name)
    {
        using var file = SafetensorsFile.Open(path);
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    /// <summary>Fails naming <paramref name="what"/> unless every value is within <paramref name="tolerance"/> of torch's.</summary>
    public static void AssertClose((float[] Values, long[] Shape) expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Values.Length, actual.Length);
        var worst = expected.Values.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected.Values, v => Math.Abs(v) > 0.1f);
    }
}
