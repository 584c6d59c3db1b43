using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.save (ComfyUI's CheckpointSave) on the tiny SDXL checkpoint: both text towers go back under their SGM prefixes,
/// the OpenCLIP tower in its own layout — q, k and v concatenated into the fused in_proj, text_projection as the stored
/// [width, projection] matrix — and the file holds the original's keys the importer reads with their shapes. A merged
/// model's weights are ComfyUI's closed form of the original's (each product rounded to float32), fused ones included,
/// exactly; a LoRA-patched one, loaded again through model.load, draws its image bit for bit.
/// </summary>
public sealed class SdxlModelSaveTests
{
    internal static readonly string Checkpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny", "sdxl-fp16.safetensors");
    private static readonly string Lora = Path.Combine(Path.GetDirectoryName(Checkpoint)!, "lora", "kohya-a.safetensors");

    [Fact]
    public async Task A_merged_sdxl_model_saves_both_towers_the_fused_projections_and_the_closed_form_exactly()
    {
        var run = await RunAsync("""
              u: { node: unet.merge, in: { unet1: m1.unet, unet2: m1.unet }, with: { strength1: 0.5, strength2: 0.25 } }
              c: { node: clip.merge, in: { clip1: m1.clip, clip2: m1.clip }, with: { strength1: 0.5, strength2: 0.25 } }
              save: { node: model.save, in: { unet: u.merged, clip: c.merged, vae: m1.vae }, with: { prefix: xl } }
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.Equal("xl_00001_.safetensors", Path.GetFileName(saved));
        using var file = SafetensorsFile.Open(saved);
        using var original = SafetensorsFile.Open(Checkpoint);
        AssertKeysAndShapes(file, original);
        Assert.Equal("stable-diffusion-xl-v1-base", file.Header.Metadata["modelspec.architecture"]);
        Assert.Equal("xl 1", file.Header.Metadata["modelspec.title"]);
        Assert.Equal("sgm", file.Header.Metadata["modelspec.implementation"]);
        Assert.Equal("epsilon", file.Header.Metadata["modelspec.predict_key"]);
        Assert.Contains(OpenClipKeyMap.Prefix + "transformer.resblocks.0.attn.in_proj_weight", file.Tensors.Keys);
        Assert.Contains(OpenClipKeyMap.Prefix + "text_projection", file.Tensors.Keys);
        Assert.Contains(LdmKeyMap.SdxlTextEncoderPrefix + "encoder.layers.0.self_attn.q_proj.weight", file.Tensors.Keys);

        // The original's fused in_proj is q, k, v in that order and text_projection is stored [width, projection]: the
        // saved ones are the same tensors scaled, element for element, so rows out of order or a matrix left as the graph
        // holds it would not match.
        foreach (var key in file.Tensors.Keys)
        {
            var actual = file.ReadFloat32(key);
            var expected = original.ReadFloat32(key);
            if (!key.StartsWith(LdmKeyMap.VaePrefix, StringComparison.Ordinal)) expected = [.. expected.Select(w => (0.5f * w) + (0.25f * w))];
            Assert.True(expected.SequenceEqual(actual), $"{key}: the saved weight is not 0.5 · W + 0.25 · W of the original in float32");
        }
    }

    [Fact]
    public async Task A_lora_patched_sdxl_model_draws_the_same_image_when_loaded_again()
    {
        var run = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{Lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: lora.unet_out, clip: lora.clip_out, vae: m1.vae {"}"}, with: {"{"} prefix: xl-lora {"}"} {"}"}
            """);
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        using (var file = SafetensorsFile.Open(saved))
        using (var original = SafetensorsFile.Open(Checkpoint))
        {
            AssertKeysAndShapes(file, original);
            // kohya-a patches OpenCLIP's q, k and v (rows of in_proj) and the first tower: those differ, the VAE does not.
            Assert.NotEqual(original.ReadFloat32(OpenClipKeyMap.Prefix + "transformer.resblocks.0.attn.in_proj_weight"), file.ReadFloat32(OpenClipKeyMap.Prefix + "transformer.resblocks.0.attn.in_proj_weight"));
            Assert.All(file.Tensors.Keys.Where(k => k.StartsWith(LdmKeyMap.VaePrefix, StringComparison.Ordinal)), k => Assert.Equal(original.ReadFloat32(k), file.ReadFloat32(k)));
        }

        var reload = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{Lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              r: {"{"} node: model.load, with: {"{"} path: "{saved.Replace("\\", "/")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched", "lora.unet_out", "lora.clip_out", "m1.vae")}
            {ModelMergeTests.Pipeline("saved", "r.unet", "r.clip", "r.vae")}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip", "m1.vae")}
            """);
        var patched = reload.Image("patched_decode").ToArray();
        Assert.Equal(patched, reload.Image("saved_decode").ToArray());
        Assert.True(patched.Zip(reload.Image("plain_decode").ToArray(), (x, y) => Math.Abs(x - y)).Max() > 1e-3, "the LoRA should change the image");
    }

    [Fact]
    public async Task Clip_layout_writes_each_sdxl_tower_in_transformers_names_as_clipsave_does()
    {
        var run = await RunAsync("""
              save: { node: model.save, in: { clip: m1.clip }, with: { prefix: towers, folder: clip, layout: clip, precision: float32 } }
            """);
        var files = Assert.IsType<string[]>(run.Result.Output("save", "files"));
        Assert.Equal(["towers_clip_l_00001_.safetensors", "towers_clip_g_00001_.safetensors"], files.Select(Path.GetFileName));
        using var original = SafetensorsFile.Open(Checkpoint);
        using (var l = SafetensorsFile.Open(files[0]))
        {
            Assert.Equal("pt", l.Header.Metadata["format"]);
            const string prefix = "conditioner.embedders.0.transformer.";
            var expected = original.Tensors.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k.EndsWith("position_ids", StringComparison.Ordinal)).Select(k => k[prefix.Length..]);
            Assert.Equal(expected.Order(StringComparer.Ordinal), l.Tensors.Keys.Order(StringComparer.Ordinal));
            Assert.All(l.Tensors.Keys, k => Assert.Equal(original.ReadFloat32(prefix + k), l.ReadFloat32(k)));
        }

        using var g = SafetensorsFile.Open(files[1]);
        Assert.Equal(37, g.Tensors.Count); // 2 layers × 16 (q, k, v, out, 2 norms, 2 MLP layers; weights and biases), 2 embeddings, the final norm's 2, text_projection
        var fused = original.ReadFloat32(OpenClipKeyMap.Prefix + "transformer.resblocks.1.attn.in_proj_weight");
        float[] Rows(int i) => fused[(i * 32 * 32)..((i + 1) * 32 * 32)];
        Assert.Equal(Rows(0), g.ReadFloat32("text_model.encoder.layers.1.self_attn.q_proj.weight"));
        Assert.Equal(Rows(1), g.ReadFloat32("text_model.encoder.layers.1.self_attn.k_proj.weight"));
        Assert.Equal(Rows(2), g.ReadFloat32("text_model.encoder.layers.1.self_attn.v_proj.weight"));
        var projection = original.ReadFloat32(OpenClipKeyMap.Prefix + "text_projection"); // [32, 40]
        Assert.Equal([40L, 32L], g.Tensors["text_projection.weight"].Shape);
        var saved = g.ReadFloat32("text_projection.weight");
        Assert.All(Enumerable.Range(0, 40 * 32), i => Assert.Equal(projection[(i % 32 * 40) + (i / 32)], saved[i]));
    }

    [Fact]
    public async Task The_refiner_is_saved_with_its_one_tower_under_its_own_prefix_and_the_originals_halves_byte_for_byte()
    {
        var refiner = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-refiner-tiny", "refiner-fp16.safetensors");
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: save-refiner
            nodes:
              r: {"{"} node: model.load, with: {"{"} path: "{refiner}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              save: {"{"} node: model.save, in: {"{"} unet: r.unet, clip: r.clip, vae: r.vae {"}"}, with: {"{"} prefix: refiner, precision: float16 {"}"} {"}"}
            """, new Dictionary<string, object?>())).AssertCompleted();
        var saved = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        using var file = SafetensorsFile.Open(saved);
        using var original = SafetensorsFile.Open(refiner);
        Assert.Equal("stable-diffusion-xl-v1-refiner", file.Header.Metadata["modelspec.architecture"]);
        var ldm = LdmKeyMap.Map([.. original.Tensors.Keys], original.Path).Keys.Where(k => !k.EndsWith("position_ids", StringComparison.Ordinal));
        var openClip = original.Tensors.Where(t => t.Key.StartsWith(OpenClipKeyMap.RefinerPrefix, StringComparison.Ordinal)
            && OpenClipKeyMap.Read(t.Key[OpenClipKeyMap.RefinerPrefix.Length..], t.Value.Shape).Any()).Select(t => t.Key).ToList();
        Assert.NotEmpty(openClip);
        Assert.Equal(ldm.Concat(openClip).Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.All(file.Tensors.Keys, k => Assert.Equal(original.GetBytes(original.Tensors[k]).ToArray(), file.GetBytes(file.Tensors[k]).ToArray()));
    }

    // The saved file holds the original's keys the importer reads (LdmKeyMap's and OpenClipKeyMap's), less position_ids
    // (which no graph holds), with the original's shapes.
    private static void AssertKeysAndShapes(SafetensorsFile saved, SafetensorsFile original)
    {
        var ldm = LdmKeyMap.Map([.. original.Tensors.Keys], original.Path).Keys.Where(k => !k.EndsWith("position_ids", StringComparison.Ordinal));
        var openClip = original.Tensors.Where(t => t.Key.StartsWith(OpenClipKeyMap.Prefix, StringComparison.Ordinal)
            && OpenClipKeyMap.Read(t.Key[OpenClipKeyMap.Prefix.Length..], t.Value.Shape).Any()).Select(t => t.Key);
        Assert.Equal(ldm.Concat(openClip).Order(StringComparer.Ordinal), saved.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.All(saved.Tensors.Keys, k => Assert.Equal(original.Tensors[k].Shape, saved.Tensors[k].Shape));
    }

    private static async Task<SdRun> RunAsync(string nodes) => (await SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: save-sdxl
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>())).AssertCompleted();
}
