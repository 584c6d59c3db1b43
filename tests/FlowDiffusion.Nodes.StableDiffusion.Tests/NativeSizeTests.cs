namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Width and height 0 mean the model's native size (the UNet config's sample_size × 8), as in diffusers.</summary>
public sealed class NativeSizeTests
{
    [Theory]
    [InlineData("shapes-sd", 64)]
    [InlineData("analytic-sd", 512)]
    public async Task Txt2img_at_size_zero_draws_at_the_models_native_size(string model, int side)
    {
        var inputs = Inputs.Of(model, "a red circle on a blue background", steps: 2, size: 0);

        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", inputs)).AssertCompleted();

        var image = run.Image();
        Assert.Equal((side, side), (image.Width, image.Height));
        Assert.Equal((side / 8, side / 8), (run.Latent().Height, run.Latent().Width));
    }

    [Fact]
    public async Task One_side_zero_takes_only_that_side_from_the_model()
    {
        var inputs = Inputs.Of("shapes-sd", "a red circle", steps: 1, size: 0).With("width", "128");

        var image = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", inputs)).AssertCompleted().Image();

        Assert.Equal((128, 64), (image.Width, image.Height));
    }

    [Fact]
    public async Task Size_zero_without_a_unet_connected_fails_naming_the_node_and_what_to_connect()
    {
        const string yaml = """
            flowdiffusion: 1
            name: no-unet
            nodes:
              noise:
                node: latent.noise
                with:
                  width: 0
                  height: 64
            """;

        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("noise", run.Result.FailedNode);
        Assert.Contains("unet", run.Result.Error, StringComparison.Ordinal);
        Assert.Contains("native size", run.Result.Error, StringComparison.Ordinal);
    }
}
