using FlowDiffusion.Imaging.Preprocessors;

namespace FlowDiffusion.Imaging.Tests.Preprocessors;

public sealed class LineImagesTests
{
    [Fact]
    public void Threshold_compares_the_weighted_luminance_and_invert_swaps_the_result()
    {
        // Pixels: white, black, pure green (luminance 0.587), pure blue (0.114), planar RGB.
        float[] rgb = [1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1];
        Assert.Equal([1f, 0f, 1f, 0f], LineImages.Threshold(rgb, 1, 4, 0.5, invert: false));
        Assert.Equal([0f, 1f, 0f, 1f], LineImages.Threshold(rgb, 1, 4, 0.5, invert: true));
        Assert.Equal([1f, 0f, 1f, 1f], LineImages.Threshold(rgb, 1, 4, 0.114, invert: false));
    }

    [Fact]
    public void Invert_maps_each_value_to_one_minus_it()
    {
        Assert.Equal([1f, 0f, 0.75f, 0f, 1f], LineImages.Invert([0f, 1f, 0.25f, 3f, -2f]));
    }
}
