namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>A keypoint in image pixels with the pose model's confidence.</summary>
/// <param name="X">Column, in pixels of the image the pose was estimated on.</param>
/// <param name="Y">Row, in pixels.</param>
/// <param name="Score">The model's confidence (SimCC: the lower of the x and y peaks).</param>
public readonly record struct PoseKeypoint(float X, float Y, float Score);
