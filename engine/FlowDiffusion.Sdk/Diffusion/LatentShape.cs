namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>The shape of a latent tensor, [batch, channels, height, width].</summary>
/// <param name="Batch">Batch size.</param>
/// <param name="Channels">Channels.</param>
/// <param name="Height">Height in latent pixels.</param>
/// <param name="Width">Width in latent pixels.</param>
public readonly record struct LatentShape(int Batch, int Channels, int Height, int Width)
{
    /// <summary>Total number of elements.</summary>
    public int Length => Batch * Channels * Height * Width;

    /// <summary>Elements per batch item.</summary>
    public int ItemLength => Channels * Height * Width;

    /// <summary>The same shape with another batch size.</summary>
    /// <param name="batch">The new batch size.</param>
    public LatentShape WithBatch(int batch) => this with { Batch = batch };

    /// <inheritdoc />
    public override string ToString() => $"[{Batch}, {Channels}, {Height}, {Width}]";
}
