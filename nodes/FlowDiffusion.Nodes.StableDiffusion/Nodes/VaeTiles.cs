using FlowDiffusion.Nodes.StableDiffusion.Imaging;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The tile parameters the tiled VAE nodes share: sides in image pixels, tiles laid out in latent pixels.</summary>
internal static class VaeTiles
{
    public const string TileDescription = "Tile side in image pixels (multiple of 8): the VAE runs on tiles this large, so memory stays bounded whatever the image size.";

    public const string OverlapDescription = "Overlap of neighbouring tiles in image pixels (multiple of 8), blended with feathered weights; wider overlaps hide seams better.";

    public static TileGrid Grid(int latentHeight, int latentWidth, int tileSize, int overlap)
    {
        if (tileSize % 8 != 0 || overlap % 8 != 0)
            throw new ArgumentException($"tile_size and overlap must be multiples of 8 (one latent pixel is 8 image pixels); got {tileSize} and {overlap}");
        if (overlap >= tileSize)
            throw new ArgumentException($"overlap: {overlap} must be smaller than tile_size {tileSize}");
        return new TileGrid(latentHeight, latentWidth, tileSize / 8, tileSize / 8, overlap / 8);
    }
}
