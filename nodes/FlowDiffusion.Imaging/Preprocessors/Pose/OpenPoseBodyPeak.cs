namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>A heatmap peak of the OpenPose body annotator: its pixel, the unfiltered heatmap there, and its number across all parts.</summary>
/// <param name="X">Column.</param>
/// <param name="Y">Row.</param>
/// <param name="Score">The heatmap's value at the peak.</param>
/// <param name="Id">The peak's number, counting every part's peaks in part order.</param>
public readonly record struct OpenPoseBodyPeak(int X, int Y, double Score, int Id);
