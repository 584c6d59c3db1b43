using System.Buffers;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Upscales images with an upscale model, tile by tile.</summary>
[Node("image.upscale_with_model", "1.0.0", Category = "image", Title = "Upscale Image (using Model)",
    Description = "Runs an upscale model (upscale.load) over overlapping tiles and blends them with feathered weights, so any image size fits in a tile's memory; the result, s times larger, is clamped to [0, 1], as ComfyUI's Upscale Image (using Model).")]
public sealed class ImageUpscaleWithModelNode : INode
{
    /// <summary>The model.</summary>
    [Input(Description = "The upscale model (upscale.load).")]
    public IUpscaleModel? UpscaleModel { get; set; }

    /// <summary>The images.</summary>
    [Input(Description = "The images to upscale.")]
    public Image? Image { get; set; }

    /// <summary>Tile side.</summary>
    [Parameter(Description = "Tile side in input pixels: the model runs on tiles this large (ignored when the export fixes its input size). Smaller tiles need less memory.", Min = 16, Max = 4096, Step = 8)]
    public int TileSize { get; set; } = 512;

    /// <summary>Tile overlap.</summary>
    [Parameter(Description = "Overlap of neighbouring tiles in input pixels, blended with feathered weights; seams vanish when it is at least 4× the model's receptive radius.", Min = 0, Max = 1024, Advanced = true)]
    public int Overlap { get; set; } = 32;

    /// <summary>The result.</summary>
    [Output(Description = "The upscaled images.")]
    public Image? Upscaled { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var network = (UpscaleModel as UpscaleModelHandle
            ?? throw new ArgumentException($"upscale_model: '{UpscaleModel}' was not loaded by upscale.load")).Network;
        var image = Image!;
        int tileHeight = network.FixedHeight ?? TileSize, tileWidth = network.FixedWidth ?? TileSize;
        if (image.Height < tileHeight && network.FixedHeight is not null || image.Width < tileWidth && network.FixedWidth is not null)
            throw new ArgumentException($"image: the upscale model takes exactly {tileWidth}×{tileHeight} inputs; the image is {image.Width}×{image.Height}, smaller than that: resize it first or export the model with dynamic sizes");
        if (Overlap >= Math.Min(tileHeight, tileWidth))
            throw new ArgumentException($"overlap: {Overlap} must be smaller than the tile size {Math.Min(tileHeight, tileWidth)}");

        var grid = new TileGrid(image.Height, image.Width, tileHeight, tileWidth, Overlap);
        var tileLength = 3 * grid.Rows.Length * grid.Columns.Length;
        var input = ArrayPool<float>.Shared.Rent(tileLength);
        float[]? result = null;
        var scale = 0;
        try
        {
            var done = 0;
            for (var b = 0; b < image.Batch; b++)
            {
                foreach (var (row, column) in grid.Tiles)
                {
                    grid.Cut(image.PixelsOf(b), 3, 1, row, column, input);
                    network.Run(input.AsSpan(0, tileLength), grid.Rows.Length, grid.Columns.Length, (output, s) =>
                    {
                        if (result is null)
                        {
                            scale = s;
                            ProducedImageSize.Check(context, $"upscale_model (×{s})", (long)image.Width * s, (long)image.Height * s);
                            result = new float[checked(image.Batch * 3 * image.Height * s * image.Width * s)];
                        }
                        grid.Add(output, 3, s, row, column, result.AsSpan(b * 3 * image.Height * s * image.Width * s, 3 * image.Height * s * image.Width * s));
                    }, cancellationToken);
                    done++;
                    context.ReportProgress(NodeProgress.OfSteps(done, grid.Count * image.Batch, $"tile {done} of {grid.Count * image.Batch}"));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }

        for (var i = 0; i < result!.Length; i++) result[i] = Math.Clamp(result[i], 0f, 1f);
        Upscaled = new Image(image.Batch, image.Height * scale, image.Width * scale, result);
    }, cancellationToken);
}
