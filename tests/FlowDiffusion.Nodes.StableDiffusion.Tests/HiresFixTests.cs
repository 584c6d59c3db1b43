using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Latent upscaling against torch, and the shipped hires-fix workflow on tiny-sd.</summary>
public sealed class HiresFixTests
{
    [Fact]
    public async Task Bicubic_latent_resize_matches_torch_interpolate()
    {
        var yaml = """
            flowdiffusion: 1
            name: bicubic
            nodes:
              noise: { node: latent.noise, with: { seed: 7, width: 128, height: 128 } }
              up: { node: latent.resize, in: { latent: noise.noise }, with: { width: 168, height: 192, method: bicubic } }
              down: { node: latent.resize, in: { latent: noise.noise }, with: { width: 80, height: 72, method: bicubic } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        using var file = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "TestData", "bicubic-resize.safetensors"));
        Assert.Equal(file.ReadFloat32("noise"), run.Latent("noise", "noise").ToArray());
        foreach (var (node, name, height, width) in new[] { ("up", "up", 24, 21), ("down", "down", 9, 10) })
        {
            var latent = run.Latent(node, "resized");
            Assert.Equal((4, height, width), (latent.Channels, latent.Height, latent.Width));
            var expected = file.ReadFloat32(name);
            var worst = expected.Zip(latent.ToArray(), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{node}: max |difference| {worst} from torch");
        }
    }

    [Fact]
    public async Task Bislerp_latent_resize_matches_the_torch_reference_including_zero_and_parallel_vectors()
    {
        using var file = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "TestData", "bislerp-resize.safetensors"));
        var yaml = """
            flowdiffusion: 1
            name: bislerp
            nodes:
              noise: { node: latent.noise, with: { seed: 7, width: 128, height: 128 } }
              up: { node: latent.resize, in: { latent: noise.noise }, with: { width: 168, height: 192, method: bislerp } }
              down: { node: latent.resize, in: { latent: noise.noise }, with: { width: 80, height: 72, method: bislerp } }
              by: { node: latent.resize, in: { latent: noise.noise }, with: { scale_by: 1.5, method: bislerp } }
              bilinear: { node: latent.resize, in: { latent: noise.noise }, with: { width: 168, height: 192, method: bilinear } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Assert.Equal(file.ReadFloat32("noise"), run.Latent("noise", "noise").ToArray());
        foreach (var (node, name, height, width) in new[] { ("up", "up", 24, 21), ("down", "down", 9, 10) })
        {
            var latent = run.Latent(node, "resized");
            Assert.Equal((4, height, width), (latent.Channels, latent.Height, latent.Width));
            var worst = file.ReadFloat32(name).Zip(latent.ToArray(), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{node}: max |difference| {worst} from the torch reference");
        }
        Assert.Equal((24, 24), (run.Latent("by", "resized").Width, run.Latent("by", "resized").Height));

        // Slerp keeps the vectors' lengths where bilinear averages them shorter: a real difference, not a rounding.
        var bilinear = run.Latent("bilinear", "resized").ToArray();
        Assert.True(MeanLength(run.Latent("up", "resized").ToArray()) > MeanLength(bilinear) * 1.05);

        // Every vector repeated (nearest-exact doubling), so most neighbour pairs are parallel; and all-zero latents.
        var edgeRun = (await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: bislerp-edge
            nodes:
              noise: { node: latent.noise, with: { seed: 11, width: 48, height: 40 } }
              doubled: { node: latent.resize, in: { latent: noise.noise }, with: { width: 96, height: 80, method: nearest-exact } }
              up: { node: latent.resize, in: { latent: doubled.resized }, with: { width: 104, height: 88, method: bislerp } }
              empty: { node: latent.empty, with: { width: 64, height: 64 } }
              zero: { node: latent.resize, in: { latent: empty.latent }, with: { width: 120, height: 72, method: bislerp } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        Assert.Equal(file.ReadFloat32("edge"), edgeRun.Latent("doubled", "resized").ToArray());
        var edgeUp = edgeRun.Latent("up", "resized");
        Assert.Equal((11, 13), (edgeUp.Height, edgeUp.Width));
        var edgeWorst = file.ReadFloat32("edge_up").Zip(edgeUp.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(edgeWorst <= 1e-5, $"repeated vectors: max |difference| {edgeWorst} from the torch reference");
        Assert.All(edgeRun.Latent("zero", "resized").ToArray(), v => Assert.Equal(0f, v));
    }

    private static double MeanLength(float[] values)
    {
        var plane = values.Length / 4;
        return Enumerable.Range(0, plane).Average(p => Math.Sqrt(Enumerable.Range(0, 4).Sum(c => (double)values[c * plane + p] * values[c * plane + p])));
    }

    [Fact]
    public async Task Lanczos_image_resize_matches_pillow_down_and_up_clamped_to_the_image_range()
    {
        var yaml = """
            flowdiffusion: 1
            name: lanczos
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png } }
              down: { node: image.resize, in: { image: image.image }, with: { width: 60, height: 45, method: lanczos } }
              up: { node: image.resize, in: { image: down.resized }, with: { width: 100, height: 75, method: lanczos } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        using var file = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "TestData", "lanczos-resize.safetensors"));
        foreach (var (node, width, height) in new[] { ("down", 60, 45), ("up", 100, 75) })
        {
            var image = run.Image(node, "resized");
            Assert.Equal((width, height), (image.Width, image.Height));
            var expected = file.ReadFloat32(node).Select(v => Math.Clamp(v, 0f, 1f)).ToArray();
            var worst = expected.Zip(image.ToArray(), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{node}: max |difference| {worst} from Pillow");
        }

        Assert.Contains(file.ReadFloat32("up"), v => v > 1.001f); // the oracle overshoots, so the clamp is exercised
    }

    [Fact]
    public async Task The_hires_fix_workflow_upscales_and_repaints_and_denoise_zero_keeps_the_upscaled_latents()
    {
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = "models/tiny-sd", ["width"] = "64", ["height"] = "64", ["hires_width"] = "128", ["hires_height"] = "96",
            ["steps"] = "2", ["hires_steps"] = "4", ["seed"] = "3",
        };
        var run = (await SdEngine.Shared.RunFileAsync("hires-fix.yaml", inputs)).AssertCompleted();
        var image = run.Image();
        Assert.Equal((128, 96), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        var upscaled = run.Latent("upscale", "resized");
        Assert.Equal((16, 12), (upscaled.Width, upscaled.Height));
        Assert.NotEqual(upscaled.ToArray(), run.Latent("hires_sample").ToArray());
        Assert.NotEmpty(run.Result.OutputFiles);

        var kept = (await SdEngine.Shared.RunFileAsync("hires-fix.yaml", new Dictionary<string, object?>(inputs) { ["denoise"] = "0" })).AssertCompleted();
        Assert.Equal(kept.Latent("upscale", "resized").ToArray(), kept.Latent("hires_sample").ToArray());
    }
}
