using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Grows a mask as ComfyUI's VAEEncodeForInpaint grows its noise mask (<c>grow_mask_by</c>).</summary>
[Node("mask.grow", "1.0.0", Category = "image", Title = "Grow Mask",
    Description = "Grows a mask by a k × k box, as ComfyUI's VAEEncodeForInpaint grow_mask_by: the mask rounded to 0/1, summed over the box (zero padding ⌈(k − 1)/2⌉ on each side, the result's top-left H × W kept) and clamped to 1. 0 keeps the mask as it is. Feed the result to the sampler's mask so the repainted area blends seamlessly in latent space.")]
public sealed class MaskGrowNode : INode
{
    /// <summary>The mask.</summary>
    [Input(Description = "The mask to grow.")]
    public Mask? Mask { get; set; }

    /// <summary>The box size.</summary>
    [Parameter(Description = "The box size k in pixels (ComfyUI's grow_mask_by; 6 by default there); 0 returns the mask unchanged.", Min = 0, Max = 64)]
    public int Pixels { get; set; } = 6;

    /// <summary>The grown mask.</summary>
    [Output(Description = "The grown mask, 0 or 1 per pixel (the input itself for 0).")]
    public Mask? Grown { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        if (Pixels < 0 || Pixels > 64) throw new ArgumentException($"pixels: {Pixels} is outside 0..64");
        Grown = Pixels == 0 ? mask : new Mask(mask.Batch, mask.Height, mask.Width, Grow(mask, Pixels, cancellationToken));
        return Task.CompletedTask;
    }

    // Per item: a summed-area table of the rounded mask, then for each output pixel the sum over rows y − p … y − p + k − 1
    // and the same columns (outside the mask counts 0), clamped to 1.
    private static float[] Grow(Mask mask, int k, CancellationToken cancellationToken)
    {
        int h = mask.Height, w = mask.Width, plane = h * w;
        var p = k / 2; // ⌈(k − 1) / 2⌉
        var result = new float[mask.Batch * plane];
        var table = new int[(h + 1) * (w + 1)];
        for (var b = 0; b < mask.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = mask.Values.Slice(b * plane, plane);
            for (var y = 0; y < h; y++)
            {
                var row = 0;
                for (var x = 0; x < w; x++)
                {
                    row += Math.Round(item[y * w + x], MidpointRounding.ToEven) >= 1 ? 1 : 0;
                    table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row;
                }
            }

            for (var y = 0; y < h; y++)
            {
                int top = Math.Clamp(y - p, 0, h), bottom = Math.Clamp(y - p + k, 0, h);
                for (var x = 0; x < w; x++)
                {
                    int left = Math.Clamp(x - p, 0, w), right = Math.Clamp(x - p + k, 0, w);
                    var sum = table[bottom * (w + 1) + right] - table[top * (w + 1) + right] - table[bottom * (w + 1) + left] + table[top * (w + 1) + left];
                    result[b * plane + y * w + x] = sum > 0 ? 1f : 0f;
                }
            }
        }

        return result;
    }
}
