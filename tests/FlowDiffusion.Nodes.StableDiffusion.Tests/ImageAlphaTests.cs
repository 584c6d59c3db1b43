using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.alpha (ComfyUI's JoinImageWithAlpha, and SplitImageWithAlpha of an image without alpha): the image and the mask
/// repeated to the larger batch and the mask resized to the image, an opaque (0) mask without one, and a repeat that would
/// hold more pixels than either input refused.
/// </summary>
public sealed class ImageAlphaTests
{
    [Fact]
    public async Task The_image_is_repeated_to_the_masks_batch_and_no_mask_is_opaque()
    {
        // Masks from the red channel of two 4×4 images of red 0x33 (0.2); the image is one 4×4 of 0x336699.
        var run = (await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: alpha
            nodes:
              image: { node: image.empty, with: { width: 4, height: 4, color: 3368601 } }
              masks: { node: image.empty, with: { width: 4, height: 4, batch: 2, color: 3342336 } }
              mask: { node: mask.from_image, in: { image: masks.image }, with: { channel: red } }
              joined: { node: image.alpha, in: { image: image.image, alpha: mask.mask } }
              opaque: { node: image.alpha, in: { image: image.image } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var images = Assert.IsType<Image>(run.Result.Output("joined", "images"));
        var mask = Assert.IsType<Mask>(run.Result.Output("joined", "mask"));

        Assert.Equal((2, 2), (images.Batch, mask.Batch));
        Assert.Equal(images.PixelsOf(0).ToArray(), images.PixelsOf(1).ToArray());
        Assert.All(mask.Values.ToArray(), v => Assert.Equal(0x33 / 255f, v));
        var opaque = Assert.IsType<Mask>(run.Result.Output("opaque", "mask"));
        Assert.Equal((1, 4, 4), (opaque.Batch, opaque.Height, opaque.Width));
        Assert.All(opaque.Values.ToArray(), v => Assert.Equal(0f, v));
        Assert.Same(run.Result.Output("image", "image"), run.Result.Output("opaque", "images"));
    }

    [Fact]
    public async Task Small_masks_that_would_repeat_a_large_image_beyond_either_input_fail_the_node()
    {
        // Three 2×2 masks would make three 8×8 images: 192 pixels, more than the image's 64 or the masks' 12.
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: alpha-too-many
            nodes:
              image: { node: image.empty, with: { width: 8, height: 8, color: 0 } }
              masks: { node: image.empty, with: { width: 2, height: 2, batch: 3, color: 0 } }
              mask: { node: mask.from_image, in: { image: masks.image } }
              joined: { node: image.alpha, in: { image: image.image, alpha: mask.mask } }
            """, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "joined"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("alpha's 3 masks would make 3 of the 8×8 images", run.Result.Error, StringComparison.Ordinal);
    }
}
