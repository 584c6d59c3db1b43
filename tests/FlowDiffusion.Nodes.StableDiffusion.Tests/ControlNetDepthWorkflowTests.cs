using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The shipped controlnet-depth workflow (image.depth → controlnet.apply) on the tiny SD 1.x checkpoint and ControlNet with
/// the stand-in depth model of ControlWorkflows, whose output is the normalised red channel squared: the control image is
/// that map in closed form, the ControlNet changes the picture, and at strength 0 it draws what controlnet-txt2img draws at 0.
/// </summary>
public sealed class ControlNetDepthWorkflowTests(ControlWorkflows workflows) : IClassFixture<ControlWorkflows>
{
    [Fact]
    public async Task The_depth_map_steers_the_controlnet_and_strength_zero_draws_the_plain_picture()
    {
        // At the image's own size (512) the map is not resized, so it is exactly min-max((2r − 1)²) of the red channel r.
        var inputs = workflows["controlnet-depth"].Inputs.ToDictionary(p => p.Key, p => (object?)p.Value);
        inputs["depth_resolution"] = "512";
        var controlled = (await SdEngine.Shared.RunFileAsync("controlnet-depth.yaml", inputs)).AssertCompleted();

        var source = controlled.Image("control_image", "image");
        var plane = source.Width * source.Height;
        var raw = source.PixelsOf(0)[..plane].ToArray().Select(r => (2 * r - 1) * (2 * r - 1)).ToArray();
        float min = raw.Min(), max = raw.Max();
        var depth = controlled.Image("depth", "depth").ToArray();
        Assert.Equal(3 * plane, depth.Length);
        for (var c = 0; c < 3; c++)
        {
            var worst = raw.Select((v, i) => Math.Abs((v - min) / (max - min) - depth[c * plane + i])).Max();
            Assert.True(worst <= 1e-5, $"channel {c}: the depth map differs from the closed form by {worst:G3}");
        }

        var zero = (await SdEngine.Shared.RunFileAsync("controlnet-depth.yaml", new Dictionary<string, object?>(inputs) { ["strength"] = "0" })).AssertCompleted();
        var cannyInputs = workflows["controlnet-txt2img"].Inputs.ToDictionary(p => p.Key, p => (object?)p.Value);
        cannyInputs["strength"] = "0";
        var plain = (await SdEngine.Shared.RunFileAsync("controlnet-txt2img.yaml", cannyInputs)).AssertCompleted();

        Assert.Equal((64, 64), (controlled.Image().Width, controlled.Image().Height));
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        var moved = controlled.Image().ToArray().Zip(zero.Image().ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(moved > 0.01, $"the depth ControlNet at strength 1 moved no pixel by more than {moved}");
    }
}
