using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Lays images out in a grid.</summary>
[Node("image.grid", "1.0.0", Category = "image", Title = "Image Grid",
    Description = "Places every image of the connected batches (in input order) in a grid of the given columns, with a gap.")]
public sealed class ImageGridNode : INode
{
    /// <summary>First batch.</summary>
    [Input(Description = "Images.")]
    public Image? Images { get; set; }

    /// <summary>More images.</summary>
    [Input(Description = "More images.", Optional = true)]
    public Image? Images2 { get; set; }

    /// <summary>More images.</summary>
    [Input(Description = "More images.", Optional = true)]
    public Image? Images3 { get; set; }

    /// <summary>More images.</summary>
    [Input(Description = "More images.", Optional = true)]
    public Image? Images4 { get; set; }

    /// <summary>More images.</summary>
    [Input(Description = "More images.", Optional = true)]
    public Image? Images5 { get; set; }

    /// <summary>More images.</summary>
    [Input(Description = "More images.", Optional = true)]
    public Image? Images6 { get; set; }

    /// <summary>Columns.</summary>
    [Parameter(Description = "Images per row (0 = all in one row).", Min = 0, Max = 64)]
    public int Columns { get; set; }

    /// <summary>Gap.</summary>
    [Parameter(Description = "Pixels between images.", Min = 0, Max = 256)]
    public int Gap { get; set; } = 4;

    /// <summary>The grid.</summary>
    [Output(Description = "One image holding the grid.")]
    public Image? Grid { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var batches = new[] { Images, Images2, Images3, Images4, Images5, Images6 }.Where(b => b is not null).Select(b => b!).ToList();
        int h = batches[0].Height, w = batches[0].Width;
        if (batches.FirstOrDefault(b => b.Height != h || b.Width != w) is { } odd)
            throw new ArgumentException($"all images of a grid must have one size; got {w}×{h} and {odd.Width}×{odd.Height}");
        var items = batches.SelectMany(b => Enumerable.Range(0, b.Batch).Select(i => (Batch: b, Index: i))).ToList();
        var columns = Columns > 0 ? Math.Min(Columns, items.Count) : items.Count;
        var rows = (items.Count + columns - 1) / columns;
        int gridW = columns * w + (columns - 1) * Gap, gridH = rows * h + (rows - 1) * Gap, plane = gridW * gridH;
        var pixels = new float[3 * plane];
        Array.Fill(pixels, 0.1f);
        for (var k = 0; k < items.Count; k++)
        {
            var source = items[k].Batch.PixelsOf(items[k].Index);
            int ox = k % columns * (w + Gap), oy = k / columns * (h + Gap);
            for (var c = 0; c < 3; c++)
            for (var y = 0; y < h; y++)
                source.Slice(c * h * w + y * w, w).CopyTo(pixels.AsSpan(c * plane + (oy + y) * gridW + ox, w));
        }
        Grid = new Image(1, gridH, gridW, pixels);
        return Task.CompletedTask;
    }
}
