using System.Text.Json;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// SD 2.x loaded as separate parts, as ComfyUI users load it: clip.load (CLIPLoader, stable_diffusion) reads an OpenCLIP
/// ViT-H tower — told as ComfyUI tells it, by a 23rd layer and no 31st — in OpenCLIP's names and in transformers' as SD 2.x's
/// text encoder (penultimate layer, padding with id 0), and unet.load (UNETLoader) reads the UNet alone as SD 2.x (64-wide
/// heads) with ComfyUI's weight test for v-prediction; model.save writes SD 2.x as ComfyUI's CheckpointSave (the tower in
/// OpenCLIP's layout, ending in an identity layer), CLIPSave (_clip_h) and ModelSave do. Each draws the single file's image
/// bit for bit. The tiny SD 2.x
/// checkpoint (tools/reference/make_sd2_checkpoint.py, checked against torch in <see cref="Sd2CheckpointTests"/>) is
/// rewritten here with its 3-layer tower repeated to ViT-H's 24 layers, so the towers have the depth ComfyUI's test reads.
/// </summary>
public sealed class Sd2PartsTests : IDisposable
{
    private static readonly string Source = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd2-tiny", "sd2-fp16.safetensors");

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-sd2-parts-" + Guid.NewGuid().ToString("N"));

    public Sd2PartsTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public async Task A_vit_h_clip_in_either_layout_encodes_and_draws_as_the_single_files_tower()
    {
        var (checkpoint, openClip, transformers) = WriteParts();
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: sd2-clip
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(checkpoint)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              o: {"{"} node: clip.load, with: {"{"} path: "{Slash(openClip)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              t: {"{"} node: clip.load, with: {"{"} path: "{Slash(transformers)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("own", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("openclip", "m1.unet", "o.clip", tokenizer: "o.tokenizer")}
            {ModelMergeTests.Pipeline("hf", "m1.unet", "t.clip", tokenizer: "t.tokenizer")}
            """, new Dictionary<string, object?>())).AssertCompleted();
        var ids = Assert.IsType<Tokens>(run.Result.Output("openclip_tokens", "tokens")).Chunks.Single().Ids;
        Assert.Equal(Assert.IsType<Tokens>(run.Result.Output("own_tokens", "tokens")).Chunks.Single().Ids, ids);
        Assert.Equal(0, ids[^1]); // SD 2.x pads with "!" (id 0), not the end-of-text token
        var own = Assert.IsType<Conditioning>(run.Result.Output("own_positive", "conditioning")).Embeddings.ToArray();
        Assert.Equal(own, Assert.IsType<Conditioning>(run.Result.Output("openclip_positive", "conditioning")).Embeddings.ToArray());
        Assert.Equal(own, Assert.IsType<Conditioning>(run.Result.Output("hf_positive", "conditioning")).Embeddings.ToArray());
        var image = run.Image("own_decode").ToArray();
        Assert.Equal(image, run.Image("openclip_decode").ToArray());
        Assert.Equal(image, run.Image("hf_decode").ToArray());
    }

    [Fact]
    public async Task An_sd2_unet_alone_is_read_as_sd2_and_as_v_prediction_by_comfyuis_weight_test()
    {
        var (checkpoint, _, _) = WriteParts();
        var prefixed = Path.Combine(_folder, "sd2_unet.safetensors");
        var bare = Path.Combine(_folder, "sd2_unet_bare.safetensors");
        var epsilon = Path.Combine(_folder, "sd2_unet_eps.safetensors");
        const string V = LdmKeyMap.UNetPrefix + "output_blocks.11.1.transformer_blocks.0.norm1.bias";
        using (var file = SafetensorsFile.Open(checkpoint))
        {
            var unet = file.Tensors.Values.Where(t => t.Name.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)).ToList();
            SafetensorsWriter.Write(prefixed, [.. unet.Select(t => (t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
            SafetensorsWriter.Write(bare, [.. unet.Select(t => (t.Name[LdmKeyMap.UNetPrefix.Length..], t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
            // The same UNet with the tested bias narrowed to a spread of 0.012: ComfyUI reads it as an epsilon (512-base) model.
            SafetensorsWriter.Write(epsilon, [.. unet.Select(t => (t.Name, t.DType, t.Shape, t.Name == V ? Scaled(file, t, 0.1f) : file.GetBytes(t).ToArray()))]);
        }

        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: sd2-unet
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(checkpoint)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(prefixed)}" {"}"} {"}"}
              b: {"{"} node: unet.load, with: {"{"} path: "{Slash(bare)}" {"}"} {"}"}
              e: {"{"} node: unet.load, with: {"{"} path: "{Slash(epsilon)}" {"}"} {"}"}
              forced: {"{"} node: unet.load, with: {"{"} path: "{Slash(epsilon)}", prediction_type: v_prediction {"}"} {"}"}
            {ModelMergeTests.Pipeline("own", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("prefixed", "u.unet", "m1.clip", config: "u.scheduler_config")}
            {ModelMergeTests.Pipeline("bare", "b.unet", "m1.clip", config: "b.scheduler_config")}
            """, new Dictionary<string, object?>())).AssertCompleted();
        Assert.Equal("v_prediction", Prediction(run, "m1"));
        Assert.Equal("v_prediction", Prediction(run, "u"));
        Assert.Equal("v_prediction", Prediction(run, "b"));
        Assert.Equal("epsilon", Prediction(run, "e"));
        Assert.Equal("v_prediction", Prediction(run, "forced"));
        Assert.Equal(768, Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("u", "unet")).NativeImageSize);
        Assert.Equal(512, Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("e", "unet")).NativeImageSize);
        var image = run.Image("own_decode").ToArray();
        Assert.Equal(image, run.Image("prefixed_decode").ToArray());
        Assert.Equal(image, run.Image("bare_decode").ToArray());
    }

    [Fact]
    public async Task A_depth_to_image_unet_alone_is_a_node_error_naming_the_file_and_the_variant()
    {
        var depth = Path.Combine(_folder, "sd2_depth_unet.safetensors");
        const string ConvIn = LdmKeyMap.UNetPrefix + "input_blocks.0.0.weight";
        using (var file = SafetensorsFile.Open(Source))
        {
            SafetensorsWriter.Write(depth, [.. file.Tensors.Values.Where(t => t.Name.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal))
                .Select(t => t.Name == ConvIn ? (t.Name, t.DType, (long[])[t.Shape[0], 5, t.Shape[2], t.Shape[3]], new byte[t.Shape[0] * 5 * t.Shape[2] * t.Shape[3] * 2]) : (t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
        }

        var failed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: sd2-depth
            nodes:
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(depth)}" {"}"} {"}"}
            """, new Dictionary<string, object?>());
        failed.AssertFailed("u", "sd2_depth_unet.safetensors: this is SD 2.0 depth-to-image");
    }

    [Fact]
    public async Task An_sd2_model_saved_whole_or_in_parts_loads_back_and_draws_its_image()
    {
        var (checkpoint, _, _) = WriteParts();
        var load = $"""
            flowdiffusion: 1
            name: sd2-save
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Slash(checkpoint)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            """;
        var saving = (await SdEngine.Shared.RunYamlAsync(load + """

              whole: { node: model.save, in: { unet: m1.unet, clip: m1.clip, vae: m1.vae, scheduler_config: m1.scheduler_config }, with: { prefix: sd2 } }
              unet: { node: model.save, in: { unet: m1.unet, scheduler_config: m1.scheduler_config }, with: { prefix: sd2_unet } }
              clip: { node: model.save, in: { clip: m1.clip }, with: { prefix: sd2, layout: clip } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var whole = Assert.Single(Assert.IsType<string[]>(saving.Result.Output("whole", "files")));
        var unet = Assert.Single(Assert.IsType<string[]>(saving.Result.Output("unet", "files")));
        var clip = Assert.Single(Assert.IsType<string[]>(saving.Result.Output("clip", "files")));
        Assert.Contains("_clip_h_", Path.GetFileName(clip), StringComparison.Ordinal);

        // The single file ComfyUI writes for SD 2.x: the original's keys (the tower in OpenCLIP's layout, in_proj fused),
        // the v-prediction mark, layers 0–22 the original's values, layer 23 the identity layer SD 2.x readers skip.
        const string Tower = Sd2Keys.TextEncoderPrefix + "transformer.resblocks.";
        using (var saved = SafetensorsFile.Open(whole))
        using (var original = SafetensorsFile.Open(checkpoint))
        {
            Assert.Equal("v", saved.Header.Metadata["modelspec.predict_key"]);
            Assert.Contains("v_pred", saved.Tensors.Keys);
            Assert.DoesNotContain(saved.Tensors.Keys, k => k != "v_pred" && !original.Tensors.ContainsKey(k));
            Assert.DoesNotContain(original.Tensors.Keys, k => k.StartsWith(Tower, StringComparison.Ordinal) && !saved.Tensors.ContainsKey(k));
            foreach (var key in saved.Tensors.Keys.Where(k => k.StartsWith(Tower, StringComparison.Ordinal)))
            {
                var values = saved.ReadFloat32(key);
                if (!key.StartsWith(Tower + "23.", StringComparison.Ordinal))
                {
                    Assert.Equal(original.ReadFloat32(key), values);
                    continue;
                }

                var identity = key.EndsWith("ln_1.weight", StringComparison.Ordinal) || key.EndsWith("ln_2.weight", StringComparison.Ordinal) ? 1f : 0f;
                Assert.All(values, v => Assert.Equal(identity, v));
            }
        }

        var reload = (await SdEngine.Shared.RunYamlAsync(load + $"""

              w: {"{"} node: model.load, with: {"{"} path: "{Slash(whole)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              u: {"{"} node: unet.load, with: {"{"} path: "{Slash(unet)}" {"}"} {"}"}
              c: {"{"} node: clip.load, with: {"{"} path: "{Slash(clip)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("own", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("whole", "w.unet", "w.clip", "w.vae", "w.tokenizer", "w.scheduler_config")}
            {ModelMergeTests.Pipeline("parts", "u.unet", "c.clip", tokenizer: "c.tokenizer", config: "u.scheduler_config")}
            """, new Dictionary<string, object?>())).AssertCompleted();
        var image = reload.Image("own_decode").ToArray();
        Assert.Equal(image, reload.Image("whole_decode").ToArray());
        Assert.Equal(image, reload.Image("parts_decode").ToArray());
        Assert.Equal("v_prediction", Prediction(reload, "w"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Prediction(SdRun run, string node)
    {
        using var json = JsonDocument.Parse(Assert.IsType<SchedulerConfigSource>(run.Result.Output(node, "scheduler_config")).Json);
        return json.RootElement.GetProperty("prediction_type").GetString()!;
    }

    // The tiny checkpoint with its tower's layers repeated (0, 1, 2, 0, 1, …) to 24, and that tower alone in OpenCLIP's
    // names (open_clip's text tower, no prefix) and in transformers' (q, k, v split from in_proj, text_projection transposed).
    private (string Checkpoint, string OpenClip, string Transformers) WriteParts()
    {
        var (checkpoint, openClip, transformers) = (Path.Combine(_folder, "sd2-24.safetensors"), Path.Combine(_folder, "open_clip_h.safetensors"), Path.Combine(_folder, "clip_h.safetensors"));
        using var file = SafetensorsFile.Open(Source);
        var prefix = Sd2Keys.TextEncoderPrefix;
        var tower = new List<(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)>();
        foreach (var t in file.Tensors.Values.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var key = t.Name[prefix.Length..];
            if (!key.StartsWith("transformer.resblocks.", StringComparison.Ordinal))
            {
                tower.Add((key, t.DType, t.Shape, file.GetBytes(t).ToArray()));
                continue;
            }

            var rest = key["transformer.resblocks.".Length..];
            var layer = int.Parse(rest[..rest.IndexOf('.')], System.Globalization.CultureInfo.InvariantCulture);
            for (var copy = layer; copy < 24; copy += 3)
            {
                tower.Add(($"transformer.resblocks.{copy}{rest[rest.IndexOf('.')..]}", t.DType, t.Shape, file.GetBytes(t).ToArray()));
            }
        }

        SafetensorsWriter.Write(checkpoint, [.. file.Tensors.Values.Where(t => !t.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(t => (t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray())).Concat(tower.Select(t => (prefix + t.Name, t.DType, t.Shape, t.Data)))]);
        SafetensorsWriter.Write(openClip, tower);
        var named = new List<(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)>();
        foreach (var (name, dtype, shape, data) in tower)
        {
            foreach (var (canonical, canonicalShape, rows, transposed) in OpenClipKeyMap.Read(name, shape))
            {
                var rowBytes = data.Length / shape[0];
                var bytes = rows is var (start, count) ? data[(int)(start * rowBytes)..(int)((start + count) * rowBytes)] : data;
                named.Add((canonical, dtype, canonicalShape, transposed ? Transposed(bytes, shape) : bytes));
            }
        }

        SafetensorsWriter.Write(transformers, named);
        return (checkpoint, openClip, transformers);
    }

    // A 2-D float16 matrix's bytes transposed.
    private static byte[] Transposed(byte[] data, long[] shape)
    {
        var (rows, columns) = ((int)shape[0], (int)shape[1]);
        var result = new byte[data.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                Buffer.BlockCopy(data, ((r * columns) + c) * 2, result, ((c * rows) + r) * 2, 2);
            }
        }

        return result;
    }

    private static byte[] Scaled(SafetensorsFile file, SafetensorsTensor tensor, float factor)
    {
        Assert.Equal(SafetensorsDType.Float16, tensor.DType);
        var values = file.ReadFloat32(tensor.Name);
        return [.. values.SelectMany(v => BitConverter.GetBytes((Half)(v * factor)))];
    }

    private static string Slash(string path) => path.Replace("\\", "/");
}
