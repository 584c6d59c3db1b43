using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Plugins.Tests;

/// <summary>
/// The sample pack in plugins/samples, built offline against the SDK package and loaded beside the Stable Diffusion
/// pack, on the analytic model whose output colour is known in closed form.
/// </summary>
public sealed class SamplePackTests : IDisposable
{
    // analytic-sd's exact latent→RGB map: rgb = Mᵀ·latent / 0.18215 with M = ½[[1,1,1],[1,−1,1],[1,1,−1],[1,−1,−1]].
    private const string AnalyticLatentRgb = "[2.74499, 2.74499, 2.74499, 2.74499, -2.74499, 2.74499, 2.74499, 2.74499, -2.74499, 2.74499, -2.74499, -2.74499]";
    private readonly TestHost _host;

    public SamplePackTests()
    {
        var packs = PluginBuilds.OfflineBuilt;
        _host = new TestHost(RepositoryRoot.StableDiffusionPlugin, TestHost.RootWith(("samples.guidance", packs.Sample)));
    }

    public void Dispose() => _host.Dispose();

    [Fact]
    public void Sample_builds_against_the_sdk_package_not_a_project_and_does_not_ship_the_sdk()
    {
        var packs = PluginBuilds.OfflineBuilt;
        using var assets = JsonDocument.Parse(File.ReadAllText(packs.SampleAssets));
        var library = assets.RootElement.GetProperty("libraries").GetProperty($"FlowDiffusion.Sdk/{PackedSdk.Version}");

        Assert.Equal("package", library.GetProperty("type").GetString());
        Assert.False(File.Exists(Path.Combine(packs.Sample, "FlowDiffusion.Sdk.dll")));
        Assert.True(File.Exists(Path.Combine(packs.Sample, "plugin.json")));
    }

    [Fact]
    public void Sample_pack_loads_with_its_manifest_and_both_nodes()
    {
        var plugins = _host.Engine.Plugins;

        Assert.Empty(plugins.Errors);
        var sample = Assert.Single(plugins.Plugins, p => p.Manifest.Id == "samples.guidance");
        Assert.Equal("1.0.0", sample.Manifest.Version);
        Assert.Equal("FlowDiffusion samples", sample.Manifest.Author);
        Assert.Equal(["guidance.colour", "guidance.prompt_travel"], sample.Nodes.Select(n => n.Id).Order());
    }

    [Theory]
    [InlineData("euler", 0.5, 0.001)]
    [InlineData("euler", 0.25, 0.001)]
    [InlineData("dpmpp_2m", 0.5, 0.03)]
    [InlineData("ddim", 0.5, 0.03)]
    public async Task Colour_guider_moves_a_red_image_toward_blue_by_its_strength(string scheduler, double strength, double tolerance)
    {
        var unguided = Colour.MeanOf(await DecodeAsync(ColourWorkflow(scheduler, strength: 0)));
        var guided = Colour.MeanOf(await DecodeAsync(ColourWorkflow(scheduler, strength)));
        var blue = new Colour(0, 0, 1);

        Assert.True(unguided.DistanceTo(new Colour(1, 0, 0)) < 0.06, $"unguided {unguided}");
        Assert.True(guided.DistanceTo(blue) < unguided.DistanceTo(blue) - 0.2, $"unguided {unguided}, guided {guided}");
        // With the model's own latent map the last step moves the predicted image the strength's share of the way.
        var expected = unguided.Toward(blue, strength);
        Assert.True(guided.DistanceTo(expected) < tolerance, $"guided {guided}, expected {expected}");
    }

    [Fact]
    public async Task Colour_guider_with_the_default_sd1_map_still_changes_the_image()
    {
        var unguided = Colour.MeanOf(await DecodeAsync(ColourWorkflow("euler", strength: 0, latentRgb: "[]")));
        var guided = Colour.MeanOf(await DecodeAsync(ColourWorkflow("euler", strength: 0.5, latentRgb: "[]")));

        Assert.True(guided.DistanceTo(unguided) > 0.1, $"unguided {unguided}, guided {guided}");
    }

    [Theory]
    [InlineData("red", "blue", 0.0, 0.0, 1.0)]
    [InlineData("blue", "red", 1.0, 0.0, 0.0)]
    [InlineData("green", "green", 0.0, 1.0, 0.0)]
    public async Task Prompt_travel_ends_on_the_to_prompt(string from, string to, double r, double g, double b)
    {
        var colour = Colour.MeanOf(await DecodeAsync(TravelWorkflow(from, to, steps: 12)));

        Assert.True(colour.DistanceTo(new Colour(r, g, b)) < 0.01, $"{from} → {to} gave {colour}");
    }

    [Fact]
    public async Task Prompt_travel_early_steps_see_the_from_prompt()
    {
        // DDIM's result keeps a trace of every step's estimate, so the red start shows in a red → blue travel.
        var travelled = Colour.MeanOf(await DecodeAsync(TravelWorkflow("red", "blue", steps: 12, scheduler: "ddim")));
        var blueOnly = Colour.MeanOf(await DecodeAsync(TravelWorkflow("blue", "blue", steps: 12, scheduler: "ddim")));

        Assert.True(travelled.B > 0.85, $"travelled {travelled}");
        Assert.True(travelled.R > blueOnly.R + 0.03, $"travelled {travelled}, blue only {blueOnly}");
    }

    [Fact]
    public async Task Colour_guider_with_a_bad_latent_map_fails_only_its_run_naming_node_and_plugin()
    {
        var failed = await _host.RunAsync(ColourWorkflow("euler", 0.5, latentRgb: "[1, 2, 3]"));
        var next = await _host.RunAsync(ColourWorkflow("euler", 0.5));

        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Equal("colour", failed.FailedNode);
        Assert.Contains("guidance.colour", failed.Error);
        Assert.Contains("samples.guidance", failed.Error);
        Assert.Contains("latent_rgb needs 12 numbers (4 latent channels × r, g, b), not 3", failed.Error);
        TestHost.Completed(next);
    }

    private async Task<Image> DecodeAsync(string yaml)
    {
        var result = TestHost.Completed(await _host.RunAsync(yaml));
        return Assert.IsType<Image>(result.Output("decode", "image"));
    }

    private static string Front(string positive, string sampleGuider, string scheduler, int steps, string guiders) => $$"""
        flowdiffusion: 1
        name: sample-pack
        nodes:
          model: { node: model.load, with: { path: models/analytic-sd } }
          positive_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: {{positive}} } }
          negative_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: positive_tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: negative_tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
        {{guiders}}
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: {{scheduler}}, steps: {{steps}} } }
          noise: { node: latent.noise, with: { seed: 7, width: 64, height: 64 } }
          sample: { node: diffusion.sample, in: { guider: {{sampleGuider}}, schedule: schedule.schedule, noise: noise.noise } }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
          save: { node: image.save, in: { images: decode.image }, with: { prefix: sample-pack } }
        """;

    private static string ColourWorkflow(string scheduler, double strength, string latentRgb = AnalyticLatentRgb) => Front("red", "colour.steered", scheduler, 10, $$"""
          cfg: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: negative.conditioning }, with: { scale: 1 } }
          colour: { node: guidance.colour, in: { guider: cfg.guider }, with: { red: 0, green: 0, blue: 1, strength: {{strength.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, latent_rgb: {{latentRgb}} } }
        """);

    private static string TravelWorkflow(string from, string to, int steps, string scheduler = "euler") => Front(from, "travel.guider", scheduler, steps, $$"""
          to_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: {{to}} } }
          to: { node: clip.encode, in: { clip: model.clip, tokens: to_tokens.tokens } }
          travel: { node: guidance.prompt_travel, in: { denoiser: denoiser.denoiser, from: positive.conditioning, to: to.conditioning, negative: negative.conditioning }, with: { scale: 1 } }
        """);
}
