using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.save and latent.load without a VAE: the file holds the latents ÷ scaling_factor (ComfyUI's unscaled samples) in
/// float64, exactly the double quotient of each float32 value, and reading it with the same factor gives the latents back
/// bit for bit. The file is read here by hand (8-byte header length, JSON header, data).
/// </summary>
public sealed class LatentFileNodeTests
{
    [Fact]
    public async Task Save_divides_by_the_scaling_factor_in_float64_and_load_multiplies_it_back_bit_for_bit()
    {
        const string save = """
            flowdiffusion: 1
            name: latent-file
            nodes:
              noise: { node: latent.noise, with: { width: 64, height: 48, seed: 7, batch: 2 } }
              save: { node: latent.save, in: { samples: noise.noise }, with: { prefix: sdxl, folder: "a/b", scaling_factor: 0.13025 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(save, new Dictionary<string, object?>())).AssertCompleted();
        var noise = Assert.IsType<Latent>(run.Result.Output("noise", "noise"));
        var file = Assert.Single(Assert.IsType<string[]>(run.Result.Output("save", "files")));
        Assert.Equal("sdxl_00001_.latent", Path.GetFileName(file));
        Assert.EndsWith(Path.Combine("a", "b"), Path.GetDirectoryName(file));

        var bytes = File.ReadAllBytes(file);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!;
        Assert.Equal("[2,4,6,8]", header["latent_tensor"]!["shape"]!.ToJsonString());
        Assert.Contains("latent.save", header["__metadata__"]!["flowdiffusion.workflow"]!.GetValue<string>());
        var data = bytes.AsSpan(8 + length + header["latent_tensor"]!["data_offsets"]![0]!.GetValue<int>());
        for (var i = 0; i < noise.Values.Length; i++) Assert.Equal(noise.Values[i] / 0.13025, BinaryPrimitives.ReadDoubleLittleEndian(data[(i * 8)..]));

        var load = $$"""
            flowdiffusion: 1
            name: latent-file-load
            nodes:
              load: { node: latent.load, with: { path: "{{file.Replace("\\", "/")}}", scaling_factor: 0.13025 } }
            """;
        var loaded = Assert.IsType<Latent>((await SdEngine.Shared.RunYamlAsync(load, new Dictionary<string, object?>())).AssertCompleted().Result.Output("load", "latent"));
        Assert.Equal((2, 4, 6, 8), (loaded.Batch, loaded.Channels, loaded.Height, loaded.Width));
        Assert.Equal(noise.Values.ToArray(), loaded.Values.ToArray());
    }

    [Fact]
    public async Task A_folder_outside_the_output_folder_is_refused_naming_the_parameter()
    {
        const string yaml = """
            flowdiffusion: 1
            name: latent-file-bad
            nodes:
              empty: { node: latent.empty, with: { width: 64, height: 64 } }
              save: { node: latent.save, in: { samples: empty.latent }, with: { folder: "../up" } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        run.AssertFailed("save", "parameter 'folder': '../up'");
    }
}
