namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>Which Depth Anything a checkpoint is used as: the two share one key layout and differ in the blocks the head reads.</summary>
public enum DepthAnythingVersion
{
    /// <summary>LiheYoung/Depth-Anything (<c>depth_anything_vit?14.pth</c>): the last four blocks.</summary>
    V1,

    /// <summary>DepthAnything/Depth-Anything-V2 (<c>depth_anything_v2_vit?.pth</c>): fixed blocks per size.</summary>
    V2,
}
