namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// A tiled evaluation over a height × width grid of base units (image pixels for an upscale model, latent pixels for
/// the VAE): cuts each tile's input out of planar data that is <c>inputScale</c> times the grid, and adds each tile's
/// output, <c>scale</c> times the grid, into the result with the feathered weights of <see cref="TileAxis"/>. Only one
/// tile's input and output are ever held besides the result.
/// </summary>
internal sealed class TileGrid(int height, int width, int tileHeight, int tileWidth, int overlap)
{
    public TileAxis Rows { get; } = new(height, tileHeight, overlap);

    public TileAxis Columns { get; } = new(width, tileWidth, overlap);

    public int Count => Rows.Starts.Count * Columns.Starts.Count;

    /// <summary>The tiles, row by row.</summary>
    public IEnumerable<(int Row, int Column)> Tiles =>
        Enumerable.Range(0, Rows.Starts.Count).SelectMany(r => Enumerable.Range(0, Columns.Starts.Count).Select(c => (r, c)));

    /// <summary>Copies tile (row, column) of <paramref name="source"/>, [planes, height·inputScale, width·inputScale], into <paramref name="tile"/>.</summary>
    public void Cut(ReadOnlySpan<float> source, int planes, int inputScale, int row, int column, Span<float> tile)
    {
        int sourceHeight = height * inputScale, sourceWidth = width * inputScale;
        int tileRows = Rows.Length * inputScale, tileColumns = Columns.Length * inputScale;
        int top = Rows.Starts[row] * inputScale, left = Columns.Starts[column] * inputScale;
        for (var p = 0; p < planes; p++)
        for (var y = 0; y < tileRows; y++)
            source.Slice((p * sourceHeight + top + y) * sourceWidth + left, tileColumns).CopyTo(tile.Slice((p * tileRows + y) * tileColumns, tileColumns));
    }

    /// <summary>Adds tile (row, column)'s output, [planes, tile height·scale, tile width·scale], weighted into <paramref name="destination"/>, [planes, height·scale, width·scale].</summary>
    public void Add(ReadOnlySpan<float> output, int planes, int scale, int row, int column, Span<float> destination)
    {
        int resultHeight = height * scale, resultWidth = width * scale;
        int tileRows = Rows.Length * scale, tileColumns = Columns.Length * scale;
        int top = Rows.Starts[row] * scale, left = Columns.Starts[column] * scale;
        var rowWeights = Rows.Weights(row, scale);
        var columnWeights = Columns.Weights(column, scale);
        for (var p = 0; p < planes; p++)
        for (var y = 0; y < tileRows; y++)
        {
            var rowWeight = rowWeights[y];
            if (rowWeight == 0) continue;
            var from = output.Slice((p * tileRows + y) * tileColumns, tileColumns);
            var to = destination.Slice((p * resultHeight + top + y) * resultWidth + left, tileColumns);
            for (var x = 0; x < tileColumns; x++) to[x] += from[x] * rowWeight * columnWeights[x];
        }
    }
}
