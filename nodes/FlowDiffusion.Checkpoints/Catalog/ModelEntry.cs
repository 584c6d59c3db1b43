namespace FlowDiffusion.Checkpoints.Catalog;

/// <summary>One model in the models folder.</summary>
/// <param name="Path">The file or folder, relative to the folder the catalog was asked about (with '/').</param>
/// <param name="Kind">What it is: see <see cref="ModelKinds"/>.</param>
/// <param name="Architecture">What the keys and shapes show (e.g. "SD 1.x (UNet 320/640/1280/1280, 4 ch; CLIP 768×12)"), or why nothing was read.</param>
/// <param name="Precision">The weights' element types (e.g. "F16"), or "" when not read.</param>
/// <param name="Bytes">The size on disk (a folder's files together).</param>
public sealed record ModelEntry(string Path, string Kind, string Architecture, string Precision, long Bytes)
{
    /// <summary>Whether model.load can open it (a checkpoint or model folder).</summary>
    public bool IsLoadable => Kind is ModelKinds.Checkpoint or ModelKinds.OnnxFolder or ModelKinds.DiffusersFolder;
}
