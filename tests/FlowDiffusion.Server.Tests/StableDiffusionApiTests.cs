using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

public sealed class StableDiffusionApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Saved_txt2img_on_analytic_sd_returns_a_blue_png_for_a_blue_prompt()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);

        var id = await host.SubmitAsync(new
        {
            workflow = "txt2img",
            inputs = new { model = "models/analytic-sd", prompt = "a blue ball", cfg = 1, width = 64, height = 64, steps = 4 },
        });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var output = Assert.Single(run["outputs"]!.AsArray());
        Assert.EndsWith(".png", output!["file"]!.GetValue<string>());
        using var response = await host.Client.GetAsync(output["url"]!.GetValue<string>());
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        var (width, height, r, g, b) = Images.Measure(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((64, 64), (width, height));
        Assert.Equal(0, r, 0.02);
        Assert.Equal(0, g, 0.02);
        Assert.Equal(1, b, 0.02);
    }

    [Fact]
    public async Task Uploaded_image_is_usable_as_an_image_input_of_a_run()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);
        var file = await UploadApiTests.UploadAsync(host, Images.Solid(new SkiaSharp.SKColor(255, 0, 0)), "red.png");
        var yaml = $$"""
            flowdiffusion: 1
            nodes:
              load: { node: image.load, with: { path: "{{file}}" } }
              save: { node: image.save, in: { images: load.image }, with: { prefix: copy } }
            """;

        var run = await host.WaitAsync(await host.SubmitAsync(new { yaml }), TimeSpan.FromMinutes(1));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var url = run["outputs"]!.AsArray().Single()!["url"]!.GetValue<string>();
        var (width, height, r, g, b) = Images.Measure(await host.Client.GetByteArrayAsync(url));
        Assert.Equal((8, 8), (width, height));
        Assert.Equal((1.0, 0.0, 0.0), (Math.Round(r, 2), Math.Round(g, 2), Math.Round(b, 2)));
    }
}
