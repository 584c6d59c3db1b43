using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.load of an SDXL refiner's UNet saved alone: model.save's file (ModelSave, which marks it
/// stable-diffusion-xl-v1-refiner) and the same weights bare without the mark (told by an added embedding too narrow for six
/// time ids) load as a refiner — five time ids — and draw the refiner checkpoint's image bit for bit beside its CLIP and VAE.
/// </summary>
public sealed class RefinerUNetLoadTests
{
    private static readonly string Refiner = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-refiner-tiny", "refiner-fp16.safetensors");

    [Fact]
    public async Task A_saved_refiner_unet_loads_as_a_refiner_and_draws_the_refiners_image()
    {
        var run = await RunAsync("""
              save: { node: model.save, in: { unet: m1.unet, scheduler_config: m1.scheduler_config }, with: { prefix: refiner_unet, folder: diffusion_models } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        var bare = Path.Combine(Path.GetDirectoryName(saved)!, $"refiner-bare-{Guid.NewGuid():N}.safetensors");
        using (var file = SafetensorsFile.Open(saved))
        {
            Assert.Equal(SdxlCheckpoint.RefinerArchitecture, file.Header.Metadata["modelspec.architecture"]);
            SafetensorsWriter.Write(bare, [.. file.Tensors.Values.Select(t => (t.Name[LdmKeyMap.UNetPrefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
        }

        var reload = await RunAsync($"""
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(saved)}" {"}"} {"}"}
              b: {"{"} node: unet.load, with: {"{"} path: "{Slash(bare)}" {"}"} {"}"}
            {ModelMergeTests.Pipeline("own", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("loaded", "u.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("bare", "b.unet", "m1.clip")}
            """);
        var own = reload.Image("own_decode").ToArray();
        Assert.Equal(own, reload.Image("loaded_decode").ToArray());
        Assert.Equal(own, reload.Image("bare_decode").ToArray());
        Assert.Contains("EulerDiscreteScheduler", Assert.IsType<SchedulerConfigSource>(reload.Result.Output("b", "scheduler_config")).Json);
        File.Delete(bare);
    }

    private static string Slash(string path) => path.Replace("\\", "/");

    private static async Task<SdRun> RunAsync(string nodes) => (await SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: refiner-unet
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{Refiner}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>())).AssertCompleted();
}
