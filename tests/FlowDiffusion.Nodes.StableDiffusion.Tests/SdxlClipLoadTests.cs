using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip.load with two files (ComfyUI's DualCLIPLoader, sdxl): a LoRA-patched SDXL CLIP saved by model.save's clip layout
/// (CLIPSave) and loaded as a pair, in either order, draws the patched model's image bit for bit; the checkpoint's own
/// towers written alone — clip_l in transformers' names, clip_g in OpenCLIP's — draw the checkpoint's image bit for bit.
/// Two CLIP ViT-L files are a node error naming both; an SD 1.x CLIP beside bigG (96 wide against the UNet's 64) is the
/// sampler's error naming the UNet and both widths, before ONNX Runtime sees the mismatch.
/// </summary>
public sealed class SdxlClipLoadTests
{
    private static readonly string Lora = Path.Combine(Path.GetDirectoryName(SdxlModelSaveTests.Checkpoint)!, "lora", "kohya-a.safetensors");

    private static readonly string Patch = $"""
          lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{Lora}", strength_model: 0, strength_clip: 0.6 {"}"} {"}"}
        """ + "\n";

    [Fact]
    public async Task A_saved_sdxl_clip_loads_as_a_pair_in_either_order_and_draws_the_patched_models_image()
    {
        var run = await RunAsync(Patch + """
              save: { node: model.save, in: { clip: lora.clip_out }, with: { prefix: dualclip, folder: clip, layout: clip } }
            """);
        var files = Assert.IsType<string[]>(run.Result.Output("save", "files"));
        var l = Assert.Single(files, f => Path.GetFileName(f).Contains("_clip_l_", StringComparison.Ordinal));
        var g = Assert.Single(files, f => Path.GetFileName(f).Contains("_clip_g_", StringComparison.Ordinal));
        using var scratch = new TempFolder();
        var (ownL, ownG) = TowersOfTheCheckpoint(scratch.Path);

        var reload = await RunAsync(Patch + $"""
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(l)}", path2: "{Slash(g)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              s: {"{"} node: clip.load, with: {"{"} path: "{Slash(g)}", path2: "{Slash(l)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              o: {"{"} node: clip.load, with: {"{"} path: "{Slash(ownG)}", path2: "{Slash(ownL)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("patched", "m1.unet", "lora.clip_out")}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("loaded", "m1.unet", "c.clip")}
            {ModelMergeTests.Pipeline("swapped", "m1.unet", "s.clip")}
            {ModelMergeTests.Pipeline("own", "m1.unet", "o.clip")}
            """);
        var patched = reload.Image("patched_decode").ToArray();
        var plain = reload.Image("plain_decode").ToArray();
        Assert.True(patched.Zip(plain, (x, y) => Math.Abs(x - y)).Max() > 1e-3, "the LoRA should change the image");
        Assert.Equal(patched, reload.Image("loaded_decode").ToArray());
        Assert.Equal(patched, reload.Image("swapped_decode").ToArray());
        Assert.Equal(plain, reload.Image("own_decode").ToArray());
    }

    [Fact]
    public async Task The_pair_reads_sdxl_embeddings_into_each_tower_as_the_checkpoints_clip_does()
    {
        using var scratch = new TempFolder();
        var (ownL, ownG) = TowersOfTheCheckpoint(scratch.Path);
        var embeddings = Path.Combine(Path.GetDirectoryName(SdxlModelSaveTests.Checkpoint)!, "embeddings");
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: dual-clip
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{SdxlModelSaveTests.Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "{Slash(embeddings)}" {"}"} {"}"}
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(ownL)}", path2: "{Slash(ownG)}", tokenizer_folder: models/tiny-sd/tokenizer, embeddings: "{Slash(embeddings)}" {"}"} {"}"}
              own_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: m1.tokenizer {"}"}, with: {"{"} text: "embedding:sdxl-style a red" {"}"} {"}"}
              own: {"{"} node: clip.encode, in: {"{"} clip: m1.clip, tokens: own_tokens.tokens {"}"} {"}"}
              loaded_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: c.tokenizer {"}"}, with: {"{"} text: "embedding:sdxl-style a red" {"}"} {"}"}
              loaded: {"{"} node: clip.encode, in: {"{"} clip: c.clip, tokens: loaded_tokens.tokens {"}"} {"}"}
              plain_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: c.tokenizer {"}"}, with: {"{"} text: "a red" {"}"} {"}"}
              plain: {"{"} node: clip.encode, in: {"{"} clip: c.clip, tokens: plain_tokens.tokens {"}"} {"}"}
            """, new Dictionary<string, object?>())).AssertCompleted();
        var own = Assert.IsType<Conditioning>(run.Result.Output("own", "conditioning"));
        var loaded = Assert.IsType<Conditioning>(run.Result.Output("loaded", "conditioning"));
        Assert.Equal(Assert.IsType<Tokens>(run.Result.Output("own_tokens", "tokens")).Chunks.Single().Ids, Assert.IsType<Tokens>(run.Result.Output("loaded_tokens", "tokens")).Chunks.Single().Ids);
        Assert.Equal(own.Embeddings.ToArray(), loaded.Embeddings.ToArray());
        Assert.True(own.Extras.TryGet(StandardExtras.PooledText, out var ownPooled));
        Assert.True(loaded.Extras.TryGet(StandardExtras.PooledText, out var loadedPooled));
        Assert.Equal(ownPooled.ToArray(), loadedPooled.ToArray());
        Assert.NotEqual(own.Embeddings.ToArray(), Assert.IsType<Conditioning>(run.Result.Output("plain", "conditioning")).Embeddings.ToArray());
    }

    [Fact]
    public async Task Two_clip_l_files_are_a_node_error_naming_both()
    {
        using var scratch = new TempFolder();
        var (ownL, ownG) = TowersOfTheCheckpoint(scratch.Path);
        var copy = Path.Combine(Path.GetDirectoryName(ownL)!, "second-" + Path.GetFileName(ownL));
        File.Copy(ownL, copy);
        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: dual-clip
            nodes:
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(ownL)}", path2: "{Slash(copy)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            """, new Dictionary<string, object?>());
        failed.AssertFailed("c", Path.GetFileName(ownL), Path.GetFileName(copy), "neither is SDXL's OpenCLIP ViT-bigG");
    }

    [Fact]
    public async Task An_sd1_clip_beside_bigg_is_a_sampling_error_naming_the_unet_and_both_widths()
    {
        using var scratch = new TempFolder();
        var (ownL, ownG) = TowersOfTheCheckpoint(scratch.Path);
        var sd1 = Path.Combine(Path.GetDirectoryName(ownL)!, "sd1_clip_l.safetensors");
        using (var file = SafetensorsFile.Open(ModelMergeTests.First))
        {
            SafetensorsWriter.Write(sd1, [.. file.Tensors.Values.Where(t => t.Name.StartsWith(LdmKeyMap.TextEncoderPrefix, StringComparison.Ordinal))
                .Select(t => ("text_model." + t.Name[LdmKeyMap.TextEncoderPrefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
        }

        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: dual-clip
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{SdxlModelSaveTests.Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(sd1)}", path2: "{Slash(ownG)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("mixed", "m1.unet", "c.clip")}
            """, new Dictionary<string, object?>());
        // Each file is a CLIP tower, so the pair loads; the UNet then names the widths before ONNX Runtime sees them.
        failed.AssertFailed("mixed_sample", "the conditioning is 96 wide but the UNet of 'sdxl-fp16", "takes 64-wide text context");
    }

    [Fact]
    public async Task One_bigg_file_is_the_refiners_clip_conditioning_on_its_hidden_states_with_the_pooled_projection()
    {
        // A 31-layer tower, which ComfyUI's CLIPLoader reads as OpenCLIP ViT-bigG (the refiner's CLIP), 8 wide with an
        // 8 × 8 projection: random values, only shapes matter here.
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-bigg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "tiny_clip_g.safetensors");
        var random = new Random(7);
        (string, long[], float[]) T(string name, params long[] shape) =>
            (name, shape, [.. Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f)]);
        var tensors = new List<(string, long[], float[])> { T("text_model.embeddings.token_embedding.weight", 768, 8), T("text_model.embeddings.position_embedding.weight", 77, 8),
            T("text_model.final_layer_norm.weight", 8), T("text_model.final_layer_norm.bias", 8), T("text_projection.weight", 8, 8) };
        for (var i = 0; i < 31; i++)
        {
            var layer = $"text_model.encoder.layers.{i}.";
            foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                tensors.Add(T(layer + "self_attn." + projection + ".weight", 8, 8));
                tensors.Add(T(layer + "self_attn." + projection + ".bias", 8));
            }

            tensors.AddRange([T(layer + "layer_norm1.weight", 8), T(layer + "layer_norm1.bias", 8), T(layer + "layer_norm2.weight", 8), T(layer + "layer_norm2.bias", 8),
                T(layer + "mlp.fc1.weight", 32, 8), T(layer + "mlp.fc1.bias", 32), T(layer + "mlp.fc2.weight", 8, 32), T(layer + "mlp.fc2.bias", 8)]);
        }

        SafetensorsWriter.WriteFloat32(path, tensors);
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: refiner-clip
            nodes:
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(path)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: c.tokenizer {"}"}, with: {"{"} text: "a red circle" {"}"} {"}"}
              text: {"{"} node: clip.encode, in: {"{"} clip: c.clip, tokens: tokens.tokens {"}"} {"}"}
            """, new Dictionary<string, object?>())).AssertCompleted();
        var conditioning = Assert.IsType<Conditioning>(run.Result.Output("text", "conditioning"));
        Assert.Equal(8, conditioning.Dim);
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        Assert.Equal(8, pooled.ToArray().Length);
        Directory.Delete(folder, recursive: true);
    }

    // The tiny SDXL checkpoint's towers alone: CLIP ViT-L in transformers' names (clip_l.safetensors), OpenCLIP ViT-bigG in
    // OpenCLIP's own names without a prefix (open_clip's text tower), as ComfyUI reads both.
    internal static (string L, string G) TowersOfTheCheckpoint(string folder)
    {
        var (l, g) = (Path.Combine(folder, "own_clip_l.safetensors"), Path.Combine(folder, "own_clip_g.safetensors"));
        using var file = SafetensorsFile.Open(SdxlModelSaveTests.Checkpoint);
        SafetensorsWriter.Write(l, [.. file.Tensors.Values.Where(t => t.Name.StartsWith(LdmKeyMap.SdxlTextEncoderPrefix, StringComparison.Ordinal))
            .Select(t => ("text_model." + t.Name[LdmKeyMap.SdxlTextEncoderPrefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
        SafetensorsWriter.Write(g, [.. file.Tensors.Values.Where(t => t.Name.StartsWith(OpenClipKeyMap.Prefix, StringComparison.Ordinal))
            .Select(t => (t.Name[OpenClipKeyMap.Prefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
        return (l, g);
    }

    private static string Slash(string path) => path.Replace("\\", "/");

    private static async Task<SdRun> RunAsync(string nodes) => (await SdEngine.Shared.RunYamlAsync($"""
        flowdiffusion: 1
        name: dual-clip
        nodes:
          m1: {"{"} node: model.load, with: {"{"} path: "{SdxlModelSaveTests.Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
        {nodes}
        """, new Dictionary<string, object?>())).AssertCompleted();
}
