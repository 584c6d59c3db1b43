using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.load (ComfyUI's UNETLoader): a LoRA-patched UNet saved alone by model.save (ModelSave's layout) and loaded back
/// beside the original checkpoint's CLIP and VAE draws the patched model's image bit for bit, for SD 1.x and SDXL; the same
/// weights with bare LDM names and with diffusers names draw it too; files that hold no SD UNet, another family's (Flux-like, an SDXL UNet without its added embedding) or a
/// truncated file are node errors naming the file (weight_dtype's fp8 rounding: <see cref="Fp8CheckpointTests"/>).
/// </summary>
public sealed class UNetLoadTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Theory]
    [InlineData("sd1")]
    [InlineData("sdxl")]
    public async Task A_saved_unet_loads_alone_and_draws_the_patched_models_image_in_each_key_layout(string family)
    {
        var (checkpoint, lora) = family == "sd1"
            ? (ModelMergeTests.First, Path.Combine(Data, "sd1-tiny", "lora", "kohya-a.safetensors"))
            : (SdxlModelSaveTests.Checkpoint, Path.Combine(Data, "sdxl-tiny", "lora", "kohya-a.safetensors"));
        var patch = $"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0.8, strength_clip: 0 {"}"} {"}"}
            """;
        var run = await RunAsync(checkpoint, patch + "\n" + $"""
              save: {"{"} node: model.save, in: {"{"} unet: lora.unet_out, scheduler_config: m1.scheduler_config {"}"}, with: {"{"} prefix: {family}_unet, folder: diffusion_models {"}"} {"}"}
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        var bare = Path.Combine(Path.GetDirectoryName(saved)!, $"{family}-bare-{Guid.NewGuid():N}.safetensors");
        var diffusers = Path.Combine(Path.GetDirectoryName(saved)!, $"{family}-diffusers-{Guid.NewGuid():N}.safetensors");
        using (var file = SafetensorsFile.Open(saved))
        {
            Assert.All(file.Tensors.Keys, k => Assert.StartsWith(LdmKeyMap.UNetPrefix, k));
            // ComfyUI strips the prefix; a diffusers UNet file carries the canonical names.
            SafetensorsWriter.Write(bare, [.. file.Tensors.Values.Select(t => (t.Name[LdmKeyMap.UNetPrefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
            using var weights = CheckpointWeights.OpenSingleFile(saved);
            SafetensorsWriter.Write(diffusers, [.. weights.Part(ModelPart.UNet).Select(p => (p.Key, p.Value.Tensor.DType, p.Value.Tensor.Shape, file.GetBytes(p.Value.Tensor).ToArray()))]);
        }

        var reload = await RunAsync(checkpoint, patch + "\n" + $"""
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(saved)}" {"}"} {"}"}
              b: {"{"} node: unet.load, with: {"{"} path: "{Slash(bare)}" {"}"} {"}"}
              d: {"{"} node: unet.load, with: {"{"} path: "{Slash(diffusers)}" {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched", "lora.unet_out", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("loaded", "u.unet", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("bare", "b.unet", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("diffusers", "d.unet", "m1.clip", "m1.vae")}
              fp: {"{"} node: unet.freeu, in: {"{"} unet: lora.unet_out {"}"} {"}"}
              fu: {"{"} node: unet.freeu, in: {"{"} unet: u.unet {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched_freeu", "fp.unet_out", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("loaded_freeu", "fu.unet_out", "m1.clip", "m1.vae")}
            """);
        var patched = reload.Image("patched_decode").ToArray();
        Assert.True(patched.Zip(reload.Image("plain_decode").ToArray(), (x, y) => Math.Abs(x - y)).Max() > 1e-3, "the LoRA should change the image");
        Assert.Equal(patched, reload.Image("loaded_decode").ToArray());
        Assert.Equal(patched, reload.Image("bare_decode").ToArray());
        Assert.Equal(patched, reload.Image("diffusers_decode").ToArray());
        // The loaded UNet's graphs take FreeU's factors as the checkpoint's do (the builder's every-graph inputs).
        var freeU = reload.Image("patched_freeu_decode").ToArray();
        Assert.True(freeU.Zip(patched, (x, y) => Math.Abs(x - y)).Max() > 1e-3, "FreeU should change the image");
        Assert.Equal(freeU, reload.Image("loaded_freeu_decode").ToArray());

        // The MODEL's schedule is the family's, epsilon without ComfyUI's v_pred mark.
        var config = Assert.IsType<SchedulerConfigSource>(reload.Result.Output("u", "scheduler_config"));
        Assert.Contains("\"prediction_type\": \"epsilon\"", config.Json);
        Assert.Contains(family == "sd1" ? "PNDMScheduler" : "EulerDiscreteScheduler", config.Json);
        Assert.Equal(family == "sd1" ? 64 : 128, ((IUNetModel)reload.Result.Output("u", "unet")!).NativeImageSize / 8);
    }

    [Fact]
    public async Task A_v_prediction_mark_gives_a_v_prediction_zero_snr_schedule()
    {
        var run = await RunAsync(ModelMergeTests.First, """
              v: { node: model.sampling, in: { config: m1.scheduler_config }, with: { prediction_type: v_prediction, zero_snr: true } }
              save: { node: model.save, in: { unet: m1.unet, scheduler_config: v.result }, with: { prefix: vpred_unet, folder: diffusion_models } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        var reload = await RunAsync(ModelMergeTests.First, $"""
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(saved)}" {"}"} {"}"}
            """);
        var config = Assert.IsType<SchedulerConfigSource>(reload.Result.Output("u", "scheduler_config"));
        Assert.Contains("\"prediction_type\": \"v_prediction\"", config.Json);
        Assert.Contains("\"rescale_betas_zero_snr\": true", config.Json);
    }

    [Fact]
    public async Task Files_without_an_sd_unet_and_truncated_files_are_node_errors_naming_them()
    {
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-unet-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var vae = Path.Combine(folder, "vae-only.safetensors");
        SafetensorsWriter.WriteFloat32(vae, [("decoder.conv_in.weight", [1], [1f]), ("encoder.conv_in.weight", [1], [1f])]);
        var flux = Path.Combine(folder, "flux-like.safetensors");
        SafetensorsWriter.WriteFloat32(flux, [("model.diffusion_model.double_blocks.0.img_attn.qkv.weight", [1], [1f])]);
        // SDXL's UNet without its added embedding: linear transformer projections and no label_emb as SD 2.x's, but transformers 2 blocks deep.
        var sd2 = Path.Combine(folder, "sd2-like.safetensors");
        using (var sdxl = SafetensorsFile.Open(SdxlModelSaveTests.Checkpoint))
        {
            SafetensorsWriter.Write(sd2, [.. sdxl.Tensors.Values.Where(t => t.Name.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal) && !t.Name.Contains(".label_emb.", StringComparison.Ordinal))
                .Select(t => (t.Name, t.DType, t.Shape, sdxl.GetBytes(t).ToArray()))]);
        }

        var truncated = Path.Combine(folder, "truncated.safetensors");
        var whole = File.ReadAllBytes(ModelMergeTests.First);
        File.WriteAllBytes(truncated, whole[..(whole.Length / 2)]);

        foreach (var (path, expected) in new[]
        {
            (vae, "no tensor is an SD 1.x or SDXL UNet's"),
            (flux, "fits no SD 1.x module"),
            (sd2, "it is neither an SD 2.x UNet (one block per transformer) nor an SDXL one"),
            (truncated, ""),
        })
        {
            var run = await SdEngine.Shared.RunYamlAsync($"""
                flowdiffusion: 1
                name: unet-load
                nodes:
                  u: {"{"} node: unet.load, with: {"{"} path: "{Slash(path)}" {"}"} {"}"}
                """, new Dictionary<string, object?>());
            run.AssertFailed("u", Path.GetFileName(path), expected);
        }

        Directory.Delete(folder, recursive: true);
    }

    private static string Slash(string path) => path.Replace("\\", "/");

    private static async Task<SdRun> RunAsync(string checkpoint, string nodes) => (await SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: unet-load
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>())).AssertCompleted();
}
