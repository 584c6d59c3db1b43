using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip.load (ComfyUI's CLIPLoader, stable_diffusion): a LoRA-patched SD 1.x text encoder saved by model.save's clip
/// layout (CLIPSave) and loaded alone draws the patched model's image bit for bit; a file without text_model.* is a node
/// error naming it.
/// </summary>
public sealed class ClipLoadTests
{
    [Fact]
    public async Task A_saved_clip_loads_alone_and_draws_the_patched_models_image()
    {
        var lora = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "lora", "kohya-a.safetensors");
        var patch = $"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0, strength_clip: 0.9 {"}"} {"}"}
            """ + "\n";
        var run = await RunAsync(patch + """
              save: { node: model.save, in: { clip: lora.clip_out }, with: { prefix: clipload, folder: clip, layout: clip } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        var reload = await RunAsync(patch + $"""
              c: {"{"} node: clip.load, with: {"{"} path: "{saved.Replace("\\", "/")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched", "m1.unet", "lora.clip_out", "m1.vae")}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("loaded", "m1.unet", "c.clip", "m1.vae")}
            """);
        var patched = reload.Image("patched_decode").ToArray();
        Assert.True(patched.Zip(reload.Image("plain_decode").ToArray(), (x, y) => Math.Abs(x - y)).Max() > 1e-4, "the LoRA should change the image");
        Assert.Equal(patched, reload.Image("loaded_decode").ToArray());

        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-clip-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var unet = Path.Combine(folder, "not-clip.safetensors");
        SafetensorsWriter.WriteFloat32(unet, [("model.diffusion_model.out.2.bias", [1], [1f])]);
        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: clip-load
            nodes:
              c: {"{"} node: clip.load, with: {"{"} path: "{unet.Replace("\\", "/")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            """, new Dictionary<string, object?>());
        failed.AssertFailed("c", "not-clip.safetensors: no tensor is a CLIP text encoder's");
        Directory.Delete(folder, recursive: true);
    }

    private static async Task<SdRun> RunAsync(string nodes) => (await SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: clip-load
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{ModelMergeTests.First}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>())).AssertCompleted();
}
