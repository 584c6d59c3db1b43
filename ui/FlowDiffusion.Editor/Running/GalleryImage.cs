namespace FlowDiffusion.Editor.Running;

/// <summary>An output image of a run: its file, and the data URL the gallery shows and downloads.</summary>
public sealed record GalleryImage(string NodeId, string FileName, string DataUrl);
