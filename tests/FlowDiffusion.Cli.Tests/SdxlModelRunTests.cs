using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Cli.Tests;

/// <summary>
/// <c>model-run</c> on the tiny SDXL checkpoint against the torch references (tools/reference/make_sdxl_checkpoint.py and
/// make_sdxl_lora.py): the UNet with text_embeds and time_ids, both text towers with input_ids and input_ids_2, the VAE.
/// </summary>
public sealed class SdxlModelRunTests : IDisposable
{
    private static readonly string Data = Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "sdxl-fp16.safetensors");
    private static readonly string LoraA = Path.Combine(Data, "lora", "kohya-a.safetensors");
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-sdxl-modelrun-" + Guid.NewGuid().ToString("N"));

    public SdxlModelRunTests() => Directory.CreateDirectory(_scratch);

    [Fact]
    public void Unet_takes_text_embeds_and_time_ids_and_matches_torch_with_and_without_a_kohya_lora()
    {
        const string reference = "lora/reference.safetensors";
        var input = Write("unet-in.safetensors", [.. new[] { "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids" }.Select(n => Tensor(reference, "unet." + n, n))]);
        var plain = Path.Combine(_scratch, "plain.safetensors");
        var withLora = Path.Combine(_scratch, "lora.safetensors");

        var (code, stdout, stderr) = Run("--part", "unet", "--in", input, "--out", plain);
        Assert.True(code == 0, stderr);
        Assert.Contains("out_sample [1,4,8,8]", stdout);
        AssertClose(Read(reference, "base.out_sample"), Read(plain, "out_sample"), 1e-4, "out_sample");

        (code, _, stderr) = Run("--part", "unet", "--in", input, "--out", withLora, "--lora", LoraA + ":0.8");
        Assert.True(code == 0, stderr);
        Assert.Contains("9 UNet weights matched", stderr);
        AssertClose(Read(reference, "a.out_sample"), Read(withLora, "out_sample"), 1e-4, "out_sample with LoRA A at 0.8");
        Assert.True(Difference(Read(reference, "a.out_sample"), Read(reference, "base.out_sample")) > 0.1);
    }

    [Fact]
    public void Unet_without_time_ids_names_the_missing_tensor()
    {
        var input = Write("unet-in.safetensors", [.. new[] { "sample", "timestep", "encoder_hidden_states", "text_embeds" }.Select(n => Tensor("reference.safetensors", "unet." + n, n))]);
        var (code, _, stderr) = Run("--part", "unet", "--in", input, "--out", Path.Combine(_scratch, "out.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("no tensor 'time_ids'", stderr);
    }

    [Fact]
    public void Text_encoder_writes_both_towers_concatenated_and_the_pooled_projection_as_torch_does()
    {
        var input = Write("te-in.safetensors", [Tensor("reference.safetensors", "text_encoder.input_ids", "input_ids"), Tensor("reference.safetensors", "text_encoder_2.input_ids", "input_ids_2")]);
        var output = Path.Combine(_scratch, "te-out.safetensors");

        var (code, stdout, stderr) = Run("--part", "text-encoder", "--in", input, "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("encoder_hidden_states [2,77,64], text_embeds [2,40]", stdout);
        AssertClose(Concatenated(Read("reference.safetensors", "text_encoder.hidden_states"), Read("reference.safetensors", "text_encoder_2.hidden_states"), 2 * 77),
            Read(output, "encoder_hidden_states"), 1e-4, "encoder_hidden_states");
        AssertClose(Read("reference.safetensors", "text_encoder_2.text_embeds"), Read(output, "text_embeds"), 1e-4, "text_embeds");

        // With the kohya LoRA's te1 and te2 modules at 0.6 (the reference's clip strength), on the LoRA reference's one row.
        var loraInput = Write("te-lora-in.safetensors", [Tensor("lora/reference.safetensors", "text_encoder.input_ids", "input_ids"), Tensor("lora/reference.safetensors", "text_encoder_2.input_ids", "input_ids_2")]);
        (code, _, stderr) = Run("--part", "text-encoder", "--in", loraInput, "--out", output, "--lora", LoraA + ":0.6");
        Assert.True(code == 0, stderr);
        Assert.Contains("2 text-encoder weights matched", stderr);
        Assert.Contains("4 second text-encoder weights matched", stderr);
        AssertClose(Concatenated(Read("lora/reference.safetensors", "a.hidden_states"), Read("lora/reference.safetensors", "a.hidden_states_2"), 77),
            Read(output, "encoder_hidden_states"), 1e-4, "encoder_hidden_states with LoRA A");
        AssertClose(Read("lora/reference.safetensors", "a.text_embeds"), Read(output, "text_embeds"), 1e-4, "text_embeds with LoRA A");

        (code, _, stderr) = Run("--part", "text-encoder", "--in", input, "--out", output, "--clip-skip", "2");
        Assert.NotEqual(0, code);
        Assert.Contains("penultimate", stderr);
    }

    [Fact]
    public void Text_encoder_with_sdxl_embeddings_puts_clip_l_into_the_first_tower_and_clip_g_into_the_second_as_torch_does()
    {
        // "embedding:sdxl-style a red": ids 768 and 769 name the embedding's two vectors (past the 768-token vocabulary).
        const string reference = "embedding-reference.safetensors";
        var ids = Read(reference, "ti.input_ids");
        var ids2 = (float[])ids.Clone();
        var end = Array.IndexOf(ids2, 754f, 1);
        Array.Fill(ids2, 0f, end + 1, ids2.Length - end - 1);
        var input = Write("te-ti-in.safetensors", [("input_ids", [1, 77], ids), ("input_ids_2", [1, 77], ids2)]);
        var output = Path.Combine(_scratch, "te-ti-out.safetensors");

        var (code, stdout, stderr) = Run("--part", "text-encoder", "--in", input, "--out", output, "--embeddings", Path.Combine(Data, "embeddings"));

        Assert.True(code == 0, stderr);
        Assert.Contains("encoder_hidden_states [1,77,64], text_embeds [1,40]", stdout);
        AssertClose(Read(reference, "ti.context"), Read(output, "encoder_hidden_states"), 1e-4, "both towers' hidden states with the embedding");
        AssertClose(Read(reference, "ti.text_embeds"), Read(output, "text_embeds"), 1e-4, "text_embeds at the end-of-text token");

        // An SD 1.x embedding (one table, no clip_l/clip_g) cannot feed SDXL's towers: it is named and left out.
        var sd1 = Path.Combine(_scratch, "sd1-embeddings");
        Directory.CreateDirectory(sd1);
        File.Copy(Path.Combine(Data, "..", "sd1-tiny", "embeddings", "style-a1111.safetensors"), Path.Combine(sd1, "style-a1111.safetensors"));
        (code, _, stderr) = Run("--part", "text-encoder", "--in", input, "--out", output, "--embeddings", sd1);
        Assert.Contains("style-a1111", stderr);
        Assert.Contains("clip_l", stderr);
    }

    [Fact]
    public void Vae_encode_and_decode_match_torch()
    {
        var encodeIn = Write("enc-in.safetensors", [Tensor("reference.safetensors", "vae.image", "sample")]);
        var decodeIn = Write("dec-in.safetensors", [Tensor("reference.safetensors", "vae.latent_sample", "latent_sample")]);
        var encoded = Path.Combine(_scratch, "enc-out.safetensors");
        var decoded = Path.Combine(_scratch, "dec-out.safetensors");

        var (code, _, stderr) = Run("--part", "vae-encode", "--in", encodeIn, "--out", encoded);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = Run("--part", "vae-decode", "--in", decodeIn, "--out", decoded);
        Assert.True(code == 0, stderr);
        AssertClose(Read("reference.safetensors", "vae.mean"), Read(encoded, "mean"), 1e-4, "VAE encode mean");
        AssertClose(Read("reference.safetensors", "vae.decoded"), Read(decoded, "sample"), 1e-4, "VAE decode");
    }

    [Fact]
    public void Models_names_sdxl_base_refiner_and_sdxl_lora_files()
    {
        var models = Path.Combine(_scratch, "models");
        Directory.CreateDirectory(Path.Combine(models, "checkpoints"));
        Directory.CreateDirectory(Path.Combine(models, "loras"));
        File.Copy(Checkpoint, Path.Combine(models, "checkpoints", "base.safetensors"));
        File.Copy(Path.Combine(Data, "..", "sdxl-refiner-tiny", "refiner-fp16.safetensors"), Path.Combine(models, "checkpoints", "refiner.safetensors"));
        File.Copy(LoraA, Path.Combine(models, "loras", "a.safetensors"));

        var (code, stdout, stderr) = Cli.Run("models", "--dir", models, "--json");

        Assert.True(code == 0, stderr);
        var entries = System.Text.Json.JsonDocument.Parse(stdout).RootElement.EnumerateArray()
            .ToDictionary(e => Path.GetFileName(e.GetProperty("path").GetString()!), e => e.GetProperty("architecture").GetString()!);
        Assert.StartsWith("SDXL (", entries["base.safetensors"]);
        Assert.StartsWith("SDXL refiner", entries["refiner.safetensors"]);
        Assert.Equal("LoRA (SDXL)", entries["a.safetensors"]);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch)) Directory.Delete(_scratch, recursive: true);
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args) =>
        Cli.Run(["model-run", Checkpoint, .. args, "--tokenizer", "models/tiny-sd/tokenizer"]);

    private static float[] Concatenated(float[] first, float[] second, int rows)
    {
        int w1 = first.Length / rows, w2 = second.Length / rows;
        var all = new float[first.Length + second.Length];
        for (var t = 0; t < rows; t++)
        {
            first.AsSpan(t * w1, w1).CopyTo(all.AsSpan(t * (w1 + w2)));
            second.AsSpan(t * w2, w2).CopyTo(all.AsSpan((t * (w1 + w2)) + w1));
        }

        return all;
    }

    private string Write(string name, (string Name, long[] Shape, float[] Values)[] tensors)
    {
        var path = Path.Combine(_scratch, name);
        SafetensorsWriter.WriteFloat32(path, tensors);
        return path;
    }

    private static (string, long[], float[]) Tensor(string file, string name, string renamed) => (renamed, Shape(file, name), Read(file, name));

    private static long[] Shape(string file, string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Data, file));
        return reference.Get(name).Shape;
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

    private static double Difference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = Difference(expected, actual);
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }
}
