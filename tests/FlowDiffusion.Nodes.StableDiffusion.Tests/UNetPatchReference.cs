using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A UNet patch's torch reference file (tools/reference/make_hypertile.py, make_tome.py) and the runs that check it: a
/// checkpoint loaded by model.load with the patch's nodes, and each reference case's batch of 2 predicted in one call
/// (timestep 500 for both rows; text states [2, 7, <c>contextWidth</c>]).
/// </summary>
internal sealed class UNetPatchReference(string checkpoint, string folder, int contextWidth)
{
    public static readonly string TestData = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    public string Checkpoint => checkpoint;

    /// <summary>Runs model.load of the checkpoint as <c>m1</c> followed by <paramref name="nodes"/>, which must complete.</summary>
    public async Task<SdRun> RunAsync(string nodes)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: {folder}
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    public static IUNetModel Unet(SdRun run, string node, string port) => Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, port));

    /// <summary>The prediction of <paramref name="unet"/> on reference case <paramref name="name"/>.</summary>
    public async Task<float[]> PredictAsync(IUNetModel unet, string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(TestData, folder, "reference.safetensors"));
        var shape = reference.Get(name + ".sample").Shape;
        var context = new Conditioning(2, 7, contextWidth, Ref("encoder_hidden_states"));
        var input = new DenoiserInput(Ref(name + ".sample"), new LatentShape(2, 4, (int)shape[2], (int)shape[3]), 500, context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    public float[] Ref(string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(TestData, folder, "reference.safetensors"));
        return reference.ReadFloat32(name);
    }

    public static double MaxDifference(IReadOnlyList<float> a, IReadOnlyList<float> b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();
}
