using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Pads images for outpainting and masks the new border.</summary>
[Node("image.pad_for_outpaint", "1.0.0", Category = "image", Title = "Pad Image for Outpainting",
    Description = "Adds left/top/right/bottom pixels around the images, filled by edge extension, seeded noise or grey, and a mask that is 1 over the new border and fades into the image over the feathering width ((1 − d/feathering)² at distance d from a padded side), as ComfyUI's Pad Image for Outpainting; feed both to inpaint.prepare and diffusion.sample.")]
public sealed class ImagePadForOutpaintNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to extend.")]
    public Image? Image { get; set; }

    /// <summary>Pixels added on the left.</summary>
    [Parameter(Description = "Pixels added on the left (keep the padded size a multiple of 8 for the VAE).", Min = 0, Max = 8192, Step = 8)]
    public int Left { get; set; }

    /// <summary>Pixels added at the top.</summary>
    [Parameter(Description = "Pixels added at the top.", Min = 0, Max = 8192, Step = 8)]
    public int Top { get; set; }

    /// <summary>Pixels added on the right.</summary>
    [Parameter(Description = "Pixels added on the right.", Min = 0, Max = 8192, Step = 8)]
    public int Right { get; set; }

    /// <summary>Pixels added at the bottom.</summary>
    [Parameter(Description = "Pixels added at the bottom.", Min = 0, Max = 8192, Step = 8)]
    public int Bottom { get; set; }

    /// <summary>Feathering width.</summary>
    [Parameter(Description = "How far into the image the mask fades out from the padded sides, in pixels; 0 (or more than half the image's side) gives a hard edge.", Min = 0, Max = 8192)]
    public int Feathering { get; set; } = 40;

    /// <summary>What fills the border.</summary>
    [Parameter(Description = "What fills the new border: edge (the nearest image pixel), noise (seeded uniform noise) or grey (0.5, ComfyUI's).")]
    public OutpaintFill Fill { get; set; } = OutpaintFill.Edge;

    /// <summary>Seed of the noise fill.</summary>
    [Parameter(Description = "Seed of the noise fill.", Min = 0)]
    public long Seed { get; set; }

    /// <summary>The padded images.</summary>
    [Output(Description = "The padded images.")]
    public Image? Padded { get; set; }

    /// <summary>The mask.</summary>
    [Output(Description = "1 over the new border (repaint), 0 over the image, feathered in between.")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        int height = image.Height, width = image.Width;
        int newHeight = checked(height + Top + Bottom), newWidth = checked(width + Left + Right);
        ProducedImageSize.Check(context, "left/top/right/bottom", newWidth, newHeight);
        if ((long)newHeight * newWidth * image.Batch * 3 > int.MaxValue)
            throw new ArgumentException($"the padded image would be {newWidth}×{newHeight}×{image.Batch}, too large");

        var random = new Random(unchecked((int)Seed ^ (int)(Seed >> 32)));
        var pixels = new float[image.Batch * 3 * newHeight * newWidth];
        for (var b = 0; b < image.Batch; b++)
        {
            var source = image.PixelsOf(b);
            for (var c = 0; c < 3; c++)
            for (var y = 0; y < newHeight; y++)
            for (var x = 0; x < newWidth; x++)
            {
                int sy = y - Top, sx = x - Left;
                var inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                pixels[((b * 3 + c) * newHeight + y) * newWidth + x] = inside
                    ? source[(c * height + sy) * width + sx]
                    : Fill switch
                    {
                        OutpaintFill.Edge => source[(c * height + Math.Clamp(sy, 0, height - 1)) * width + Math.Clamp(sx, 0, width - 1)],
                        OutpaintFill.Noise => random.NextSingle(),
                        _ => 0.5f,
                    };
            }
        }

        // ComfyUI's feathering: inside the image, distance d to the nearest padded side (rows from the top count from 0,
        // from the bottom from 1), mask ((f − d) / f)² where d < f; applied only when 2f is below both sides.
        var mask = new float[newHeight * newWidth];
        Array.Fill(mask, 1f);
        var feather = Feathering > 0 && Feathering * 2 < height && Feathering * 2 < width;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var value = 0f;
            if (feather)
            {
                var d = Math.Min(Math.Min(Top != 0 ? y : height, Bottom != 0 ? height - y : height), Math.Min(Left != 0 ? x : width, Right != 0 ? width - x : width));
                if (d < Feathering)
                {
                    var v = (Feathering - d) / (float)Feathering;
                    value = v * v;
                }
            }
            mask[(y + Top) * newWidth + x + Left] = value;
        }

        Padded = new Image(image.Batch, newHeight, newWidth, pixels);
        Mask = new Mask(1, newHeight, newWidth, mask);
        return Task.CompletedTask;
    }
}
