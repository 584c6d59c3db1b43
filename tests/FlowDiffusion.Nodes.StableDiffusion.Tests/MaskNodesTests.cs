using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The mask nodes ComfyUI's GrowMask, InvertMask, ThresholdMask and SolidMask map to, run in a workflow on a drawn mask:
/// values written out by hand (MaskMorphologyTests checks the growth against its literal definition).
/// </summary>
public sealed class MaskNodesTests
{
    [Fact]
    public async Task Expand_invert_and_threshold_a_loaded_mask_and_make_a_solid_one()
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "dot.png");
        // 255 at (y 5, x 6), 102/255 = 0.4 at (y 2, x 3), 0 elsewhere, 12 wide and 10 high.
        TestPng.WriteGray(file, 12, 10, (x, y) => (y, x) switch { (5, 6) => 255, (2, 3) => 102, _ => 0 });
        var yaml = $$"""
            flowdiffusion: 1
            name: masks
            nodes:
              mask: { node: mask.load, with: { path: "{{file}}" } }
              grown: { node: mask.expand, in: { mask: mask.mask }, with: { expand: 2 } }
              squared: { node: mask.expand, in: { mask: mask.mask }, with: { expand: 1, tapered_corners: false } }
              shrunk: { node: mask.expand, in: { mask: grown.expanded }, with: { expand: -2 } }
              inverted: { node: mask.invert, in: { mask: mask.mask } }
              hard: { node: mask.threshold, in: { mask: mask.mask }, with: { value: 0.3 } }
              solid: { node: mask.solid, with: { value: 0.25, width: 7, height: 3 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        float[] Values(string node, string output) => Assert.IsType<Sdk.Values.Mask>(run.Result.Output(node, output)).Values.ToArray();
        const float faint = 102 / 255f;

        var grown = Values("grown", "expanded");
        var squared = Values("squared", "expanded");
        var inverted = Values("inverted", "inverted");
        var hard = Values("hard", "thresholded");
        for (var y = 0; y < 10; y++)
        for (var x = 0; x < 12; x++)
        {
            var i = y * 12 + x;
            int fromDot = Math.Abs(y - 5) + Math.Abs(x - 6), fromFaint = Math.Abs(y - 2) + Math.Abs(x - 3);
            Assert.Equal(fromDot <= 2 ? 1f : fromFaint <= 2 ? faint : 0f, grown[i]);
            Assert.Equal(Math.Max(Math.Abs(y - 5), Math.Abs(x - 6)) <= 1 ? 1f : Math.Max(Math.Abs(y - 2), Math.Abs(x - 3)) <= 1 ? faint : 0f, squared[i]);
            var original = (y, x) switch { (5, 6) => 1f, (2, 3) => faint, _ => 0f };
            Assert.Equal(1f - original, inverted[i], 6);
            Assert.Equal(original > 0.3f ? 1f : 0f, hard[i]);
        }

        // The faint pixel's diamond reaches the border without being cut, so shrinking gives the two pixels back.
        Assert.Equal(Values("mask", "mask"), Values("shrunk", "expanded"));
        var solid = Assert.IsType<Sdk.Values.Mask>(run.Result.Output("solid", "mask"));
        Assert.Equal((1, 3, 7), (solid.Batch, solid.Height, solid.Width));
        Assert.All(solid.Values.ToArray(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public async Task A_solid_mask_over_the_pixel_limit_and_a_tapered_growth_over_the_work_bound_fail_their_node()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: too large
            nodes:
              solid: { node: mask.solid, with: { width: 16384, height: 16384 } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("solid", "FlowDiffusion:MaxImagePixels");

        run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: too many steps
            nodes:
              solid: { node: mask.solid, with: { width: 4096, height: 4096 } }
              grown: { node: mask.expand, in: { mask: solid.mask }, with: { expand: 300 } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("grown", "at most 256 steps");
    }
}
