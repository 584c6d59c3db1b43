namespace FlowDiffusion.Cli.Tests;

public sealed class ImportCommandTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-import-" + Guid.NewGuid().ToString("N"));

    private static string Checkpoint => Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");

    [Fact]
    public void Imported_checkpoint_runs_txt2img_end_to_end()
    {
        var model = Path.Combine(_scratch, "tiny-import");
        var (code, stdout, stderr) = Cli.Run("import", Checkpoint, "--out", model, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        Assert.Contains("widths 64/32", stdout);
        foreach (var part in new[] { "text_encoder", "unet", "vae_encoder", "vae_decoder" })
        {
            Assert.True(File.Exists(Path.Combine(model, part, "model.onnx")), part);
        }

        Assert.Contains("\"scaled_linear\"", File.ReadAllText(Path.Combine(model, "scheduler", "scheduler_config.json")));
        var outputs = Path.Combine(_scratch, "out");
        (code, _, stderr) = Cli.Run("run", "workflows/txt2img.yaml", "--set", "model=" + model, "--set", "steps=2", "--set", "width=64", "--set", "height=64", "--out", outputs);
        Assert.True(code == 0, stderr);
        var png = Assert.Single(Directory.GetFiles(outputs, "*.png"));
        Assert.True(new FileInfo(png).Length > 100);
    }

    [Fact]
    public void Imported_sdxl_checkpoint_is_an_sdxl_folder_that_runs_sdxl_txt2img()
    {
        var sdxl = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny", "sdxl-fp16.safetensors");
        var model = Path.Combine(_scratch, "sdxl-import");
        var (code, stdout, stderr) = Cli.Run("import", sdxl, "--out", model, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        Assert.Contains("SDXL", stdout);
        Assert.Contains("transformer depths 0/2", stdout);
        foreach (var part in new[] { "text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder" })
        {
            Assert.True(File.Exists(Path.Combine(model, part, "model.onnx")), part);
        }

        Assert.True(File.Exists(Path.Combine(model, "tokenizer_2", "vocab.json")));
        Assert.Contains("0.13025", File.ReadAllText(Path.Combine(model, "vae_decoder", "config.json")));
        var outputs = Path.Combine(_scratch, "sdxl-out");
        (code, _, stderr) = Cli.Run("run", "workflows/sdxl-txt2img.yaml", "--set", "model=" + model, "--set", "steps=2", "--set", "width=64", "--set", "height=64", "--out", outputs);
        Assert.True(code == 0, stderr);
        Assert.Single(Directory.GetFiles(outputs, "*.png"));
    }

    [SkippableFact]
    public void Import_copies_the_clip_tokenizer_it_is_given()
    {
        var clip = Path.GetFullPath(Path.Combine(Cli.RepoRoot, "..", "shared", "oracles", "clip"));
        Skip.IfNot(File.Exists(Path.Combine(clip, "vocab.json")), $"the CLIP vocabulary is not at {clip} (it is not ours to ship; CI has it)");
        var model = Path.Combine(_scratch, "clip-import");
        var (code, _, stderr) = Cli.Run("import", Checkpoint, "--out", model, "--tokenizer", clip);
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(clip, "vocab.json")), File.ReadAllBytes(Path.Combine(model, "tokenizer", "vocab.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(clip, "merges.txt")), File.ReadAllBytes(Path.Combine(model, "tokenizer", "merges.txt")));
    }

    [SkippableFact]
    public void Import_without_a_tokenizer_says_which_files_to_put_where()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Skip.If(Directory.Exists(Path.Combine(home, ".cache", "huggingface", "hub", "models--openai--clip-vit-large-patch14")), "a CLIP tokenizer is in the Hugging Face cache here");
        Skip.If(Directory.Exists(Path.Combine(Cli.RepoRoot, "models", "tokenizers", "clip-vit-large-patch14")), "models/tokenizers/clip-vit-large-patch14 exists here");
        var model = Path.Combine(_scratch, "no-tokenizer");
        var (code, _, stderr) = Cli.Run("import", Checkpoint, "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("vocab.json and merges.txt", stderr);
        Assert.Contains("models/tokenizers/clip-vit-large-patch14", stderr);
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void Importing_a_pytorch_file_that_holds_no_model_is_refused_naming_the_file()
    {
        var ckpt = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Formats.Tests", "TestData", "legacy.ckpt");
        var model = Path.Combine(_scratch, "pickle");
        var (code, _, stderr) = Cli.Run("import", ckpt, "--out", model, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.Equal(1, code);
        Assert.Contains("legacy.ckpt", stderr);
        Assert.Contains("not an SD single-file checkpoint", stderr);
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void Model_load_runs_a_safetensors_checkpoint_and_reuses_its_prepared_graphs()
    {
        var cache = Path.Combine(_scratch, "cache");
        var workflow = Path.Combine(_scratch, "txt2img-checkpoint.yaml");
        Directory.CreateDirectory(_scratch);
        File.WriteAllText(workflow, File.ReadAllText(Path.Combine(Cli.RepoRoot, "workflows", "txt2img.yaml"))
            .Replace("      path: $model\n", "      path: $model\n      tokenizer_folder: models/tiny-sd/tokenizer\n", StringComparison.Ordinal));
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_CACHE"] = cache };
        string[] args = ["run", workflow, "--set", "model=" + Checkpoint, "--set", "steps=2", "--set", "width=64", "--set", "height=64", "--out", Path.Combine(_scratch, "out")];
        var (code, _, stderr) = Cli.RunWith(environment, args);
        Assert.True(code == 0, stderr);
        var prepared = Assert.Single(Directory.GetDirectories(Path.Combine(cache, "checkpoints")));
        Assert.StartsWith("ldm-fp16-", Path.GetFileName(prepared));
        var unet = Path.Combine(prepared, "unet", "model.onnx");
        var written = File.GetLastWriteTimeUtc(unet);
        (code, _, stderr) = Cli.RunWith(environment, args);
        Assert.True(code == 0, stderr);
        Assert.Single(Directory.GetDirectories(Path.Combine(cache, "checkpoints")));
        Assert.Equal(written, File.GetLastWriteTimeUtc(unet));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_scratch, "out"), "*.png").Length);
    }

    [Fact]
    public void Clip_skip_2_runs_on_an_imported_checkpoint_and_changes_the_image_clip_skip_1_makes()
    {
        var model = Path.Combine(_scratch, "clip-skip-import");
        var (code, _, stderr) = Cli.Run("import", Checkpoint, "--out", model, "--tokenizer", "models/tiny-sd/tokenizer");
        Assert.True(code == 0, stderr);
        var txt2img = File.ReadAllText(Path.Combine(Cli.RepoRoot, "workflows", "txt2img.yaml"));
        var skipped = txt2img
            .Replace("      tokens: positive_tokens.tokens\n", "      tokens: positive_tokens.tokens\n    with:\n      clip_skip: 2\n", StringComparison.Ordinal)
            .Replace("      tokens: negative_tokens.tokens\n", "      tokens: negative_tokens.tokens\n    with:\n      clip_skip: 2\n", StringComparison.Ordinal);
        Assert.NotEqual(txt2img, skipped);
        Directory.CreateDirectory(_scratch);
        var workflow = Path.Combine(_scratch, "txt2img-clip-skip.yaml");
        File.WriteAllText(workflow, skipped);

        byte[] Pixels(string file, string outputs)
        {
            var (exit, _, error) = Cli.Run("run", file, "--set", "model=" + model, "--set", "steps=2", "--set", "width=64", "--set", "height=64", "--out", outputs);
            Assert.True(exit == 0, error);
            return ImageData(File.ReadAllBytes(Assert.Single(Directory.GetFiles(outputs, "*.png"))));
        }

        var last = Pixels(Path.Combine(Cli.RepoRoot, "workflows", "txt2img.yaml"), Path.Combine(_scratch, "out-1"));
        var penultimate = Pixels(workflow, Path.Combine(_scratch, "out-2"));
        Assert.NotEqual(last, penultimate);
    }

    // The PNG's IDAT chunks: the pixels, without the text chunks that record the workflow.
    private static byte[] ImageData(byte[] png)
    {
        var data = new List<byte>();
        for (var at = 8; at + 8 <= png.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            if (System.Text.Encoding.ASCII.GetString(png, at + 4, 4) == "IDAT")
            {
                data.AddRange(png.AsSpan(at + 8, length).ToArray());
            }

            at += 12 + length;
        }

        Assert.NotEmpty(data);
        return [.. data];
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }
}
