using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.save (ComfyUI's CheckpointSave) on the tiny SD 1.x checkpoint: a merged model and a LoRA-patched one written as
/// an LDM single file, loaded again through model.load and drawing the patched model's image bit for bit; the file's keys
/// are the original checkpoint's (each under the prefix its part has there), weights no merge or LoRA touched are the
/// original's values exactly (float16 widened to float32), merged ones ComfyUI's closed form
/// (model1 · strength_model + model2 · strength_patch, each product rounded to float32) from the two files, exactly.
/// </summary>
public sealed class ModelSaveTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Fact]
    public async Task A_merged_model_saves_with_the_checkpoints_keys_the_closed_form_and_draws_the_same_image_when_loaded_again()
    {
        var run = await RunAsync($"""
              m2: {"{"} node: model.load, with: {"{"} path: "{ModelMergeTests.Second}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              u: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} strength1: 0.3, strength2: 0.7 {"}"} {"}"}
              c: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: m2.clip {"}"}, with: {"{"} strength1: 0.3, strength2: 0.7 {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: u.merged, clip: c.merged, vae: m1.vae {"}"}, with: {"{"} prefix: merged, folder: "saved/a", metadata: '{"{"}"prompt": "p"{"}"}' {"}"} {"}"}
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.Equal("merged_00001_.safetensors", Path.GetFileName(saved));
        Assert.EndsWith(Path.Combine("saved", "a"), Path.GetDirectoryName(saved));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(saved)!, "*.partial-*"));

        using var file = SafetensorsFile.Open(saved);
        using var one = SafetensorsFile.Open(ModelMergeTests.First);
        using var two = SafetensorsFile.Open(ModelMergeTests.Second);
        AssertKeysAndShapes(file, one);
        Assert.Equal("epsilon", file.Header.Metadata["modelspec.predict_key"]);
        Assert.Equal("p", file.Header.Metadata["prompt"]);
        Assert.Contains("model.save", file.Header.Metadata["flowdiffusion.workflow"]);

        foreach (var key in file.Tensors.Keys)
        {
            Assert.Equal(SafetensorsDType.Float32, file.Tensors[key].DType);
            var actual = file.ReadFloat32(key);
            var a = one.ReadFloat32(key);
            if (key.StartsWith(LdmKeyMap.VaePrefix, StringComparison.Ordinal))
            {
                Assert.Equal(a, actual); // untouched: the original's float16 values widened exactly
                continue;
            }

            var b = two.ReadFloat32(key);
            var expected = a.Zip(b, (x, y) => (0.3f * x) + (0.7f * y)).ToArray();
            Assert.True(expected.SequenceEqual(actual), $"{key}: the saved weight is not 0.3 · model1 + 0.7 · model2 in float32");
        }

        var reload = await RunAsync($"""
              m2: {"{"} node: model.load, with: {"{"} path: "{ModelMergeTests.Second}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              u: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} strength1: 0.3, strength2: 0.7 {"}"} {"}"}
              c: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: m2.clip {"}"}, with: {"{"} strength1: 0.3, strength2: 0.7 {"}"} {"}"}
              r: {"{"} node: model.load, with: {"{"} path: "{saved.Replace("\\", "/")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("merged", "u.merged", "c.merged", "m1.vae")}
            {ModelMergeTests.Pipeline("saved", "r.unet", "r.clip", "r.vae")}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip", "m1.vae")}
            """);
        var merged = reload.Image("merged_decode").ToArray();
        Assert.Equal(merged, reload.Image("saved_decode").ToArray());
        Assert.True(merged.Zip(reload.Image("plain_decode").ToArray(), (x, y) => Math.Abs(x - y)).Max() > 1e-3, "the merge should change the image");
    }

    [Fact]
    public async Task A_lora_patched_model_saves_its_patched_weights_and_draws_the_same_image_when_loaded_again()
    {
        var lora = Path.Combine(Data, "sd1-tiny", "lora", "kohya-a.safetensors");
        var run = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: lora.unet_out, clip: lora.clip_out, vae: m1.vae {"}"}, with: {"{"} prefix: lora {"}"} {"}"}
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.Equal("lora_00001_.safetensors", Path.GetFileName(saved));
        using (var file = SafetensorsFile.Open(saved))
        using (var original = SafetensorsFile.Open(ModelMergeTests.First))
        {
            AssertKeysAndShapes(file, original);
            // The weights the LoRA patches are the handle's bound values; every other one is the original's exactly.
            var patched = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (output, prefix, part) in new[] { ("unet_out", LdmKeyMap.UNetPrefix, "unet"), ("clip_out", LdmKeyMap.TextEncoderPrefix, "text_encoder") })
            {
                var handle = run.Result.Output("lora", output)!;
                var overrides = handle is IOverridableModel<IUNetModel> u ? u.Overrides : ((IOverridableModel<ITextEncoder>)handle).Overrides;
                var names = overrides.Select(o => o.Name).Distinct().ToList();
                Assert.NotEmpty(names);
                var keys = KeysOf(names, part);
                foreach (var name in names)
                {
                    var value = Bound(overrides, ModelFile(run, part), name);
                    Assert.Equal(value, file.ReadFloat32(keys[name]));
                    Assert.True(value.Zip(original.ReadFloat32(keys[name]), (x, y) => Math.Abs(x - y)).Max() > 1e-5, $"{name}: the LoRA should change it");
                    patched.Add(keys[name]);
                }
            }

            foreach (var key in file.Tensors.Keys.Where(k => !patched.Contains(k)))
            {
                Assert.Equal(original.ReadFloat32(key), file.ReadFloat32(key));
            }
        }

        var reload = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              r: {"{"} node: model.load, with: {"{"} path: "{saved.Replace("\\", "/")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched", "lora.unet_out", "lora.clip_out", "m1.vae")}
            {ModelMergeTests.Pipeline("saved", "r.unet", "r.clip", "r.vae")}
            """);
        Assert.Equal(reload.Image("patched_decode").ToArray(), reload.Image("saved_decode").ToArray());
    }

    [Fact]
    public async Task Float16_precision_writes_the_originals_halves_back_byte_for_byte()
    {
        var run = await RunAsync("""
              save: { node: model.save, in: { unet: m1.unet, clip: m1.clip, vae: m1.vae }, with: { prefix: half, precision: float16 } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        using var file = SafetensorsFile.Open(saved);
        using var original = SafetensorsFile.Open(ModelMergeTests.First);
        AssertKeysAndShapes(file, original);
        foreach (var key in file.Tensors.Keys)
        {
            Assert.Equal(SafetensorsDType.Float16, file.Tensors[key].DType);
            Assert.Equal(original.Tensors[key].DType == SafetensorsDType.Float16 ? original.GetBytes(original.Tensors[key]).ToArray() : Halves(original.ReadFloat32(key)), file.GetBytes(file.Tensors[key]).ToArray());
        }
    }

    [Fact]
    public async Task A_v_prediction_model_is_marked_as_comfyui_marks_it_and_model_load_reads_the_marks_back()
    {
        var run = await RunAsync("""
              v: { node: model.sampling, in: { config: m1.scheduler_config }, with: { prediction_type: v_prediction, zero_snr: true } }
              save: { node: model.save, in: { unet: m1.unet, scheduler_config: v.result }, with: { prefix: vpred } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        using (var file = SafetensorsFile.Open(saved))
        {
            Assert.Equal("v", file.Header.Metadata["modelspec.predict_key"]);
            Assert.Equal([0L], file.Tensors["v_pred"].Shape);
            Assert.Equal([0L], file.Tensors["ztsnr"].Shape);
            Assert.All(file.Tensors.Keys.Where(k => k is not ("v_pred" or "ztsnr")), k => Assert.StartsWith(LdmKeyMap.UNetPrefix, k));
        }

        Assert.Equal(new FlowDiffusion.Checkpoints.CheckpointSampling("v_prediction", true), FlowDiffusion.Checkpoints.CheckpointSampling.Of(saved, "auto"));
    }

    [Fact]
    public async Task An_onnx_export_is_refused_naming_a_weight_it_cannot_place()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: save-export
            nodes:
              m: { node: model.load, with: { path: models/tiny-sd } }
              save: { node: model.save, in: { unet: m.unet, clip: m.clip, vae: m.vae } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("save", "have no place in an SD 1.x checkpoint", "an ONNX export names, fuses or transposes them its own way");
    }

    [Fact]
    public async Task Mixed_families_and_folders_outside_the_output_folder_are_refused()
    {
        var run = await RunAsync(null, $"""
              x: {"{"} node: model.load, with: {"{"} path: "{SdxlModelSaveTests.Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: m1.unet, clip: x.clip {"}"} {"}"}
            """);
        Assert.Equal("save", run.Result.FailedNode);
        Assert.Contains("clip: an SDXL text encoder with an SD 1.x UNet", run.Result.Error);

        var outside = await RunAsync(null, """
              save: { node: model.save, in: { vae: m1.vae }, with: { folder: "../up" } }
            """);
        Assert.Equal("save", outside.Result.FailedNode);
        Assert.Contains("parameter 'folder': '../up' is not a relative folder of plain names", outside.Result.Error);

        var layout = await RunAsync(null, """
              save: { node: model.save, in: { unet: m1.unet, vae: m1.vae }, with: { layout: vae } }
            """);
        Assert.Equal("save", layout.Result.FailedNode);
        Assert.Contains("unet: layout vae writes the VAE alone (ComfyUI's VAESave)", layout.Result.Error);
    }

    [Fact]
    public async Task Vae_layout_writes_ldm_names_without_the_prefix_and_vae_load_draws_the_same_image_from_it()
    {
        var run = await RunAsync("""
              save: { node: model.save, in: { vae: m1.vae }, with: { prefix: ComfyUI_vae, folder: vae, layout: vae } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.Equal("ComfyUI_vae_00001_.safetensors", Path.GetFileName(saved));
        using (var file = SafetensorsFile.Open(saved))
        using (var original = SafetensorsFile.Open(ModelMergeTests.First))
        {
            var expected = LdmKeyMap.Map([.. original.Tensors.Keys], original.Path).Where(p => p.Value.Part == ModelPart.Vae).Select(p => p.Key);
            Assert.Equal(expected.Select(k => k[LdmKeyMap.VaePrefix.Length..]).Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
            Assert.All(file.Tensors.Keys, k => Assert.Equal(original.ReadFloat32(LdmKeyMap.VaePrefix + k), file.ReadFloat32(k)));
            Assert.All(file.Tensors.Keys, k => Assert.Equal(original.Tensors[LdmKeyMap.VaePrefix + k].Shape, file.Tensors[k].Shape));
        }

        var reload = await RunAsync($"""
              v: {"{"} node: vae.load, with: {"{"} path: "{saved.Replace("\\", "/")}" {"}"} {"}"}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip", "m1.vae")}
            {ModelMergeTests.Pipeline("saved", "m1.unet", "m1.clip", "v.vae")}
            """);
        Assert.Equal(reload.Image("plain_decode").ToArray(), reload.Image("saved_decode").ToArray());
    }

    [Fact]
    public async Task The_unet_alone_is_written_under_its_checkpoint_prefix_as_modelsave_writes_it_and_the_importer_reads_every_weight_back()
    {
        var lora = Path.Combine(Data, "sd1-tiny", "lora", "kohya-a.safetensors");
        var run = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: lora.unet_out, scheduler_config: m1.scheduler_config {"}"}, with: {"{"} prefix: ComfyUI, folder: diffusion_models {"}"} {"}"}
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        using var file = SafetensorsFile.Open(saved);
        using var original = SafetensorsFile.Open(ModelMergeTests.First);
        var expected = LdmKeyMap.Map([.. original.Tensors.Keys], original.Path).Where(p => p.Value.Part == ModelPart.UNet).Select(p => p.Key);
        Assert.Equal(expected.Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));

        // Read back through the importer: every UNet weight of the patched handle, under its canonical name.
        var handle = (IOverridableModel<IUNetModel>)run.Result.Output("lora", "unet_out")!;
        using var weights = CheckpointWeights.OpenSingleFile(saved);
        Assert.False(weights.Has(ModelPart.TextEncoder));
        var unet = weights.Part(ModelPart.UNet);
        var patched = handle.Overrides.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(patched);
        foreach (var name in patched) Assert.Equal(Bound(handle.Overrides, ModelFile(run, "unet"), name), unet[name].ReadFloat32());
        Assert.Equal(expected.Count(), unet.Count);
    }

    // The saved file holds exactly the original's keys the importer reads, less those our graphs keep no weight for.
    private static void AssertKeysAndShapes(SafetensorsFile saved, SafetensorsFile original)
    {
        var expected = LdmKeyMap.Map([.. original.Tensors.Keys], original.Path).Keys.Where(k => !k.EndsWith("position_ids", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, saved.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var key in saved.Tensors.Keys)
        {
            Assert.Equal(original.Tensors[key].Shape, saved.Tensors[key].Shape);
        }
    }

    private static Dictionary<string, string> KeysOf(IReadOnlyCollection<string> names, string part) => part == "unet"
        ? LdmUNetNames.Of(names).ToDictionary(p => p.Key, p => LdmKeyMap.UNetPrefix + p.Value)
        : names.ToDictionary(n => n, n => LdmKeyMap.TextEncoderPrefix + n["text_model.".Length..]);

    private static byte[] Halves(float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
        return bytes;
    }

    private static float[] Bound(WeightOverrides overrides, string modelPath, string name)
    {
        var file = FlowDiffusion.Diffusion.Onnx.OnnxModelFile.Read(modelPath);
        WeightTensor? value = null;
        foreach (var weightOverride in overrides.Where(o => o.Name == name))
        {
            var previous = value;
            value = weightOverride.Apply(() => previous ?? file.ReadWeight(name), CancellationToken.None);
        }
        return (value ?? file.ReadWeight(name)).ToFloats();
    }

    private static string ModelFile(SdRun run, string part)
    {
        var config = Assert.IsType<SchedulerConfigSource>(run.Result.Output("m1", "scheduler_config"));
        return Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(config.Path))!, part, "model.onnx");
    }

    private static async Task<SdRun> RunAsync(string nodes) => (await RunAsync(null, nodes)).AssertCompleted();

    private static Task<SdRun> RunAsync(object? _, string nodes) => SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: save
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{ModelMergeTests.First}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>());
}
