using System.Text.Json;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// <c>model-run</c> against the torch references of the tiny SD 1.x checkpoint (tools/reference: make_sd1_checkpoints.py,
/// make_lora.py, make_embeddings.py) and <c>models</c> on a ComfyUI-style models folder.
/// </summary>
public sealed class ModelCommandsTests : IDisposable
{
    private static readonly string Data = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-modelrun-" + Guid.NewGuid().ToString("N"));

    public ModelCommandsTests() => Directory.CreateDirectory(_scratch);

    [Fact]
    public void Model_run_unet_with_a_lora_matches_torchs_merged_output()
    {
        var input = Write("unet-in.safetensors", [Tensor("lora/reference.safetensors", "unet.sample", "sample"),
            Tensor("lora/reference.safetensors", "unet.timestep", "timestep"), Tensor("lora/reference.safetensors", "unet.encoder_hidden_states", "encoder_hidden_states")]);
        var output = Path.Combine(_scratch, "unet-out.safetensors");

        var (code, stdout, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--lora", Path.Combine(Data, "lora", "kohya-a.safetensors") + ":0.8", "--tokenizer", "models/tiny-sd/tokenizer");

        Assert.True(code == 0, stderr);
        Assert.Contains("out_sample", stdout);
        AssertClose(Read("lora/reference.safetensors", "a.out_sample"), Read(output, "out_sample"), 1e-4, "out_sample with LoRA A at 0.8");
        Assert.True(Difference(Read("lora/reference.safetensors", "a.out_sample"), Read("lora/reference.safetensors", "base.out_sample")) > 0.1);
    }

    [Fact]
    public void Model_run_unet_with_stacked_controlnets_matches_torch_and_refuses_a_control_image_of_the_wrong_size()
    {
        const string Reference = "controlnet/reference.safetensors";
        var input = Write("cn-in.safetensors", [Tensor(Reference, "sample", "sample"), Tensor(Reference, "timestep", "timestep"),
            Tensor(Reference, "encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "controlnet_cond", "controlnet_cond"),
            Tensor(Reference, "controlnet_cond_b", "controlnet_cond_1")]);
        var output = Path.Combine(_scratch, "cn-out.safetensors");
        var controlnet = Path.Combine(Data, "controlnet", "control-ldm-fp16.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--controlnet", controlnet + ":1", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "unet.controlled"), Read(output, "out_sample"), 1e-4, "one ControlNet at 1 (timesteps 999 and 17)");

        (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--controlnet", controlnet + ":0.7", "--controlnet", controlnet + ":0.4", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "unet.stacked"), Read(output, "out_sample"), 1e-4, "two control images at 0.7 and 0.4");
        Assert.True(Difference(Read(Reference, "unet.stacked"), Read(Reference, "unet.out_sample")) > 0.1);

        var small = Write("cn-small.safetensors", [Tensor(Reference, "sample", "sample"), Tensor(Reference, "timestep", "timestep"),
            Tensor(Reference, "encoder_hidden_states", "encoder_hidden_states"), ("controlnet_cond", [2, 3, 8, 8], new float[2 * 3 * 8 * 8])]);
        var (failed, _, error) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", small, "--out", output,
            "--controlnet", controlnet + ":1", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.Equal(1, failed);
        Assert.Contains("'controlnet_cond' has shape [2, 3, 8, 8]; [2, 3, 64, 64] expected", error);
    }

    [Theory]
    [InlineData("--controlnet", "control.safetensors", "--controlnet control.safetensors: give FILE:STRENGTH, e.g. models/controlnet/canny.safetensors:1")]
    [InlineData("--t2i-adapter", "missing/adapter.safetensors:0.5", "--t2i-adapter missing/adapter.safetensors:0.5: no such file or folder 'missing/adapter.safetensors'")]
    [InlineData("--ipadapter", "tests:0.7", "--ipadapter tests:0.7: no such file 'tests'")]
    public void Model_run_names_the_option_of_a_malformed_or_missing_file_spec(string option, string spec, string message)
    {
        const string Reference = "t2i-adapter/reference.safetensors";
        var input = Write("spec-in.safetensors", [Tensor(Reference, "sample", "sample"), Tensor(Reference, "timestep", "timestep"),
            Tensor(Reference, "encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "hint", "adapter_cond"), Tensor(Reference, "hint", "controlnet_cond")]);

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", Path.Combine(_scratch, "spec-out.safetensors"),
            option, spec, "--tokenizer", "models/tiny-sd/tokenizer");

        Assert.NotEqual(0, code);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void Model_run_unet_with_stacked_t2i_adapters_matches_torch()
    {
        const string Reference = "t2i-adapter/reference.safetensors";
        var input = Write("t2i-in.safetensors", [Tensor(Reference, "sample", "sample"), Tensor(Reference, "timestep", "timestep"),
            Tensor(Reference, "encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "hint", "adapter_cond"), Tensor(Reference, "hint_b", "adapter_cond_1")]);
        var output = Path.Combine(_scratch, "t2i-out.safetensors");
        var adapter = Path.Combine(Data, "t2i-adapter", "adapter-fp16.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--t2i-adapter", adapter + ":1", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "unet.adapted"), Read(output, "out_sample"), 1e-4, "one adapter at 1 (timesteps 999 and 17)");

        (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--t2i-adapter", adapter + ":0.7", "--t2i-adapter", Path.Combine(Data, "t2i-adapter", "diffusers") + ":0.4", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "unet.stacked"), Read(output, "out_sample"), 1e-4, "two control images at 0.7 and 0.4");
        Assert.True(Difference(Read(Reference, "unet.stacked"), Read(Reference, "unet.out_sample")) > 0.1);
    }

    [Fact]
    public void Model_run_unet_with_an_ip_adapter_matches_torch_from_pixels_or_from_image_embeds()
    {
        const string Reference = "ipadapter/reference.safetensors";
        var adapter = Path.Combine(Data, "ipadapter", "ip-adapter.safetensors") + ":0.7";
        var pixels = Write("ip-pixels.safetensors", [Tensor(Reference, "e2e.sample", "sample"), Tensor(Reference, "e2e.timestep", "timestep"),
            Tensor(Reference, "e2e.encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "a.pixel_values", "pixel_values")]);
        var embeds = Write("ip-embeds.safetensors", [Tensor(Reference, "e2e.sample", "sample"), Tensor(Reference, "e2e.timestep", "timestep"),
            Tensor(Reference, "e2e.encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "a.image_embeds", "image_embeds")]);
        var output = Path.Combine(_scratch, "ip-out.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", pixels, "--out", output,
            "--ipadapter", adapter, "--clip-vision", Path.Combine(Data, "ipadapter", "clip-vision"), "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "e2e.adapted"), Read(output, "out_sample"), 1e-4, "out_sample with image a at 0.7 from its pixels");

        (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", embeds, "--out", output, "--ipadapter", adapter, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "e2e.adapted"), Read(output, "out_sample"), 1e-4, "out_sample with image a at 0.7 from its embeds");
        Assert.True(Difference(Read(Reference, "e2e.adapted"), Read(Reference, "e2e.plain")) > 0.1);

        (code, _, var error) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", pixels, "--out", output, "--ipadapter", adapter, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.NotEqual(0, code);
        Assert.Contains("'pixel_values' [B, 3, S, S] with --clip-vision", error);
    }

    [Fact]
    public void Model_run_unet_with_an_ip_adapter_and_a_controlnet_in_one_call_matches_torch()
    {
        const string Reference = "ipadapter/reference.safetensors";
        var input = Write("ip-cn.safetensors", [Tensor(Reference, "e2e.sample", "sample"), Tensor(Reference, "e2e.timestep", "timestep"),
            Tensor(Reference, "e2e.encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "a.image_embeds", "image_embeds"),
            Tensor("ipadapter-controlnet/reference.safetensors", "e2e.controlnet_cond", "controlnet_cond")]);
        var output = Path.Combine(_scratch, "ip-cn-out.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", input, "--out", output,
            "--ipadapter", Path.Combine(Data, "ipadapter", "ip-adapter.safetensors") + ":0.7",
            "--controlnet", Path.Combine(Data, "controlnet", "control-ldm-fp16.safetensors") + ":0.6", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read("ipadapter-controlnet/reference.safetensors", "e2e.one"), Read(output, "out_sample"), 1e-4, "out_sample with image a at 0.7 and hint a at 0.6");
        Assert.True(Difference(Read("ipadapter-controlnet/reference.safetensors", "e2e.one"), Read(Reference, "e2e.adapted")) > 0.1);
    }

    [Fact]
    public void Model_run_unet_with_a_Plus_adapter_from_pixels_and_an_SDXL_adapter_from_image_embeds_matches_torch()
    {
        const string Reference = "ipadapter/reference.safetensors";
        var pixels = Write("plus-pixels.safetensors", [Tensor(Reference, "e2e.sample", "sample"), Tensor(Reference, "e2e.timestep", "timestep"),
            Tensor(Reference, "e2e.encoder_hidden_states", "encoder_hidden_states"), Tensor(Reference, "a.pixel_values", "pixel_values")]);
        var output = Path.Combine(_scratch, "plus-out.safetensors");
        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "unet", "--in", pixels, "--out", output,
            "--ipadapter", Path.Combine(Data, "ipadapter", "ip-adapter-plus.safetensors") + ":0.7", "--clip-vision", Path.Combine(Data, "ipadapter", "clip-vision"), "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read("ipadapter/plus-reference.safetensors", "e2e.adapted"), Read(output, "out_sample"), 1e-4, "out_sample with the Plus adapter's tokens of image a at 0.7");

        // SDXL: the rows' text_embeds and time_ids go to the IP-adapted SDXL UNet too.
        const string Sdxl = "../sdxl-tiny/ipadapter/reference.safetensors";
        var embeds = Write("sdxl-ip.safetensors", [Tensor(Sdxl, "unet.sample", "sample"), Tensor(Sdxl, "unet.timestep", "timestep"),
            Tensor(Sdxl, "unet.encoder_hidden_states", "encoder_hidden_states"), Tensor(Sdxl, "unet.text_embeds", "text_embeds"),
            Tensor(Sdxl, "unet.time_ids", "time_ids"), Tensor(Reference, "a.image_embeds", "image_embeds")]);
        (code, _, stderr) = Cli.Run("model-run", Path.Combine(Data, "..", "sdxl-tiny", "sdxl-fp16.safetensors"), "--part", "unet", "--in", embeds, "--out", output,
            "--ipadapter", Path.Combine(Data, "..", "sdxl-tiny", "ipadapter", "ip-adapter_sdxl.safetensors") + ":0.7", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Sdxl, "base.adapted"), Read(output, "out_sample"), 1e-4, "SDXL out_sample with image a at 0.7");
    }

    [Fact]
    public void Model_run_text_encoder_with_embeddings_and_clip_skip_2_matches_torch_and_pools_at_the_end_token()
    {
        // The reference ids with the product's embedding ids at the slots: files in name order from the vocabulary's end (768).
        var ids = Read("embeddings-reference.safetensors", "ti.input_ids");
        var slots = Read("embeddings-reference.safetensors", "ti.slots").Select(v => (int)v).ToArray();
        int[][] embeddingIds = [[768], [769, 770, 771], [772, 773]];
        for (var s = 0; s < slots.Length; s += 4) ids[slots[s] * 77 + slots[s + 1]] = embeddingIds[slots[s + 2]][slots[s + 3]];
        var input = Write("te-in.safetensors", [("input_ids", [2, 77], ids)]);
        var output = Path.Combine(_scratch, "te-out.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "text-encoder", "--in", input, "--out", output, "--clip-skip", "2",
            "--embeddings", Path.Combine(Data, "embeddings"), "--tokenizer", "models/tiny-sd/tokenizer");

        Assert.True(code == 0, stderr);
        Assert.Contains("embedding 'wide' not added", stderr);
        AssertClose(Read("embeddings-reference.safetensors", "ti.penultimate_hidden_state"), Read(output, "last_hidden_state"), 1e-4, "clip skip 2 with embeddings");
        // Row 0's end-of-text token is at position 6, row 1's at 5; pooled is the last layer there.
        var last = Read("embeddings-reference.safetensors", "ti.last_hidden_state");
        float[] expected = [.. last.AsSpan(6 * 64, 64).ToArray(), .. last.AsSpan((77 + 5) * 64, 64).ToArray()];
        AssertClose(expected, Read(output, "pooled"), 1e-4, "pooled");
    }

    [Fact]
    public void Model_run_vae_decode_matches_torch_and_a_missing_input_is_named()
    {
        var input = Write("vae-in.safetensors", [Tensor("reference.safetensors", "vae.latent_sample", "latent_sample")]);
        var output = Path.Combine(_scratch, "vae-out.safetensors");

        var (code, _, stderr) = Cli.Run("model-run", Checkpoint, "--part", "vae-decode", "--in", input, "--out", output, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read("reference.safetensors", "vae.decoded"), Read(output, "sample"), 1e-4, "VAE decode");

        var (failed, _, error) = Cli.Run("model-run", Checkpoint, "--part", "vae-encode", "--in", input, "--out", output, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.Equal(1, failed);
        Assert.Contains("no tensor 'sample'", error);
    }

    [Fact]
    public void Models_lists_checkpoints_loras_vaes_embeddings_and_model_folders_with_their_kind()
    {
        var models = Path.Combine(_scratch, "models");
        Copy(Checkpoint, Path.Combine(models, "checkpoints", "tiny.safetensors"));
        Copy(Path.Combine(Data, "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "style", "a.safetensors"));
        Copy(Path.Combine(Data, "vae", "swapped-vae.safetensors"), Path.Combine(models, "vae", "ft.safetensors"));
        Copy(Path.Combine(Data, "embeddings", "style-a1111.safetensors"), Path.Combine(models, "embeddings", "style.safetensors"));
        File.WriteAllBytes(Path.Combine(models, "checkpoints", "old.ckpt"), [0x80, 0x02]);
        // OnnxStack's layout: the component graphs, no model_index.json.
        foreach (var part in new[] { "unet", "text_encoder", "vae_decoder" })
            Copy(Path.Combine(Cli.RepoRoot, "models", "tiny-sd", part, "model.onnx"), Path.Combine(models, "onnxstack-model", part, "model.onnx"));

        var (code, stdout, stderr) = Cli.Run("models", "--dir", models, "--json");

        Assert.True(code == 0, stderr);
        var entries = JsonDocument.Parse(stdout).RootElement.EnumerateArray()
            .ToDictionary(e => Path.GetRelativePath(models, e.GetProperty("path").GetString()!).Replace('\\', '/'), e => (Kind: e.GetProperty("kind").GetString(), Architecture: e.GetProperty("architecture").GetString()!));
        Assert.Equal("checkpoint", entries["checkpoints/tiny.safetensors"].Kind);
        Assert.Contains("SD 1.x (UNet 64/32, 4 ch; CLIP 64×2; VAE)", entries["checkpoints/tiny.safetensors"].Architecture);
        Assert.Equal("lora", entries["loras/style/a.safetensors"].Kind);
        Assert.Equal("vae", entries["vae/ft.safetensors"].Kind);
        Assert.Equal("embedding", entries["embeddings/style.safetensors"].Kind);
        Assert.Contains("2×64", entries["embeddings/style.safetensors"].Architecture);
        Assert.Equal("other", entries["checkpoints/old.ckpt"].Kind);
        Assert.Contains("truncated", entries["checkpoints/old.ckpt"].Architecture);
        Assert.Equal(("onnx-folder", "OnnxStack ONNX"), entries["onnxstack-model"]);

        var (_, table, _) = Cli.Run("models", "--dir", models);
        Assert.Contains("checkpoints/tiny.safetensors", table);
    }

    [Fact]
    public void Model_run_sdxl_unet_with_an_sdxl_controlnet_reads_text_embeds_and_time_ids_and_matches_torch()
    {
        const string Reference = "../sdxl-tiny/controlnet/reference.safetensors";
        var input = Write("sdxl-cn-in.safetensors", [.. new[] { "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "controlnet_cond" }
            .Select(n => Tensor(Reference, n, n))]);
        var output = Path.Combine(_scratch, "sdxl-cn-out.safetensors");
        var sdxl = Path.Combine(Data, "..", "sdxl-tiny");

        var (code, _, stderr) = Cli.Run("model-run", Path.Combine(sdxl, "sdxl-fp16.safetensors"), "--part", "unet", "--in", input, "--out", output,
            "--controlnet", Path.Combine(sdxl, "controlnet", "diffusers") + ":1", "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        AssertClose(Read(Reference, "unet.controlled"), Read(output, "out_sample"), 1e-4, "SDXL ControlNet at 1 (timesteps 999 and 17)");
    }

    private string Write(string name, (string Name, long[] Shape, float[] Values)[] tensors)
    {
        var path = Path.Combine(_scratch, name);
        SafetensorsWriter.WriteFloat32(path, tensors);
        return path;
    }

    private static (string, long[], float[]) Tensor(string file, string name, string renamed)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Data, file));
        return (renamed, reference.Get(name).Shape, reference.ReadFloat32(name));
    }

    private static float[] Read(string file, string name)
    {
        using var reference = SafetensorsFile.Open(Path.IsPathRooted(file) ? file : Path.Combine(Data, file));
        var tensor = reference.Get(name);
        if (tensor.DType == SafetensorsDType.Int64)
        {
            var bytes = reference.GetBytes(tensor).ToArray();
            return [.. Enumerable.Range(0, bytes.Length / 8).Select(i => (float)BitConverter.ToInt64(bytes, i * 8))];
        }

        return reference.ReadFloat32(name);
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }

    private static double Difference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = Difference(expected, actual);
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch)) Directory.Delete(_scratch, recursive: true);
    }
}
