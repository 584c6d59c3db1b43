namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>What a block of <see cref="MangaLineCheckpoint"/>'s network does to the map's size.</summary>
public enum MangaLineBlock
{
    /// <summary>Keeps it (<c>block0</c>, <c>block9</c>: the published <c>is_first_layer</c>).</summary>
    Plain,

    /// <summary>Halves it in its last unit (a stride-2 convolution and shortcut).</summary>
    Down,

    /// <summary>Doubles it in its first unit (the convolution and the shortcut each followed by ×2 nearest upsampling).</summary>
    Up,
}
