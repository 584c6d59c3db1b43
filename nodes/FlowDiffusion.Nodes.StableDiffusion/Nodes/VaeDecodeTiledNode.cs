using System.Buffers;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Latents to images, tile by tile.</summary>
[Node("vae.decode_tiled", "1.0.0", Category = "latent", Title = "VAE Decode (Tiled)",
    Description = "Decodes latents to images in [0, 1] over overlapping tiles blended with feathered weights, so large images decode in a tile's memory, as ComfyUI's VAE Decode (Tiled). The VAE's group norms and attention see one tile at a time, so the result is close to, not equal to, vae.decode's.")]
public sealed class VaeDecodeTiledNode : INode
{
    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE.")]
    public IVae? Vae { get; set; }

    /// <summary>The latents.</summary>
    [Input(Description = "Scaled latents.")]
    public Latent? Latent { get; set; }

    /// <summary>Tile side in pixels.</summary>
    [Parameter(Description = VaeTiles.TileDescription, Min = 64, Max = 4096, Step = 8)]
    public int TileSize { get; set; } = 512;

    /// <summary>Overlap in pixels.</summary>
    [Parameter(Description = VaeTiles.OverlapDescription, Min = 0, Max = 4096, Step = 8, Advanced = true)]
    public int Overlap { get; set; } = 64;

    /// <summary>The images.</summary>
    [Output(Description = "Decoded images.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var latent = Latent!;
        var grid = VaeTiles.Grid(latent.Height, latent.Width, TileSize, Overlap);
        int channels = latent.Channels, tileHeight = grid.Rows.Length, tileWidth = grid.Columns.Length;
        int height = latent.Height * 8, width = latent.Width * 8, item = 3 * height * width;
        var pixels = new float[checked(latent.Batch * item)];
        var input = ArrayPool<float>.Shared.Rent(channels * tileHeight * tileWidth);
        // This pack's VAE decodes into one reused tile buffer; another pack's goes through IVae, a tile image at a time.
        var scratch = Vae is OnnxVae ? ArrayPool<float>.Shared.Rent(channels * tileHeight * tileWidth) : null;
        var tile = Vae is OnnxVae ? new float[3 * tileHeight * 8 * tileWidth * 8] : null;
        try
        {
            var done = 0;
            for (var b = 0; b < latent.Batch; b++)
            {
                foreach (var (row, column) in grid.Tiles)
                {
                    var length = channels * tileHeight * tileWidth;
                    grid.Cut(latent.Values.Slice(b * latent.ItemLength, latent.ItemLength), channels, 1, row, column, input);
                    ReadOnlyMemory<float> decoded;
                    if (Vae is OnnxVae onnx)
                    {
                        await Task.Run(() => onnx.DecodeInto(input.AsSpan(0, length), channels, tileHeight, tileWidth, scratch!, tile!, cancellationToken), cancellationToken);
                        decoded = tile;
                    }
                    else
                    {
                        var image = await Vae!.DecodeAsync(new Latent(1, channels, tileHeight, tileWidth, input.AsSpan(0, length).ToArray()), cancellationToken);
                        decoded = image.MemoryOf(0);
                    }
                    grid.Add(decoded.Span, 3, 8, row, column, pixels.AsSpan(b * item, item));
                    done++;
                    context.ReportProgress(NodeProgress.OfSteps(done, grid.Count * latent.Batch, $"tile {done} of {grid.Count * latent.Batch}"));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
            if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
        }

        // Blending in-range tiles stays in range; the clamp only removes float rounding past 1.
        for (var i = 0; i < pixels.Length; i++) pixels[i] = Math.Clamp(pixels[i], 0f, 1f);
        Image = new Image(latent.Batch, height, width, pixels);
    }
}
