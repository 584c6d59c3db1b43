using System.Buffers;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Images to latents, tile by tile.</summary>
[Node("vae.encode_tiled", "1.0.0", Category = "latent", Title = "VAE Encode (Tiled)",
    Description = "Encodes images to scaled latents over overlapping tiles blended with feathered weights, so large images encode in a tile's memory, as ComfyUI's VAE Encode (Tiled). The encoder's group norms see one tile at a time, so the result is close to, not equal to, vae.encode's.")]
public sealed class VaeEncodeTiledNode : INode
{
    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE.")]
    public IVae? Vae { get; set; }

    /// <summary>The images.</summary>
    [Input(Description = "Images; sides must be multiples of 8.")]
    public Image? Image { get; set; }

    /// <summary>Tile side in pixels.</summary>
    [Parameter(Description = VaeTiles.TileDescription, Min = 64, Max = 4096, Step = 8)]
    public int TileSize { get; set; } = 512;

    /// <summary>Overlap in pixels.</summary>
    [Parameter(Description = VaeTiles.OverlapDescription, Min = 0, Max = 4096, Step = 8, Advanced = true)]
    public int Overlap { get; set; } = 64;

    /// <summary>The latents.</summary>
    [Output(Description = "Scaled latents.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var image = Image!;
        if (image.Width % 8 != 0 || image.Height % 8 != 0)
            throw new ArgumentException($"image: it is {image.Width}×{image.Height}; the VAE needs width and height that are multiples of 8");
        var grid = VaeTiles.Grid(image.Height / 8, image.Width / 8, TileSize, Overlap);
        int tileHeight = grid.Rows.Length * 8, tileWidth = grid.Columns.Length * 8, length = 3 * tileHeight * tileWidth;
        var input = ArrayPool<float>.Shared.Rent(length);
        float[]? values = null;
        var channels = 0;
        try
        {
            var done = 0;
            for (var b = 0; b < image.Batch; b++)
            {
                foreach (var (row, column) in grid.Tiles)
                {
                    grid.Cut(image.PixelsOf(b), 3, 8, row, column, input);
                    var encoded = await Vae!.EncodeAsync(new Image(1, tileHeight, tileWidth, input.AsSpan(0, length).ToArray()), cancellationToken);
                    if (values is null)
                    {
                        channels = encoded.Channels;
                        values = new float[checked(image.Batch * channels * (image.Height / 8) * (image.Width / 8))];
                    }
                    var item = channels * (image.Height / 8) * (image.Width / 8);
                    grid.Add(encoded.Values, channels, 1, row, column, values.AsSpan(b * item, item));
                    done++;
                    context.ReportProgress(NodeProgress.OfSteps(done, grid.Count * image.Batch, $"tile {done} of {grid.Count * image.Batch}"));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
        Latent = new Latent(image.Batch, channels, image.Height / 8, image.Width / 8, values!);
    }
}
