namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>A detected person: corners in image pixels and the detector's score (objectness × person class).</summary>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
/// <param name="Score">Objectness × class probability.</param>
public readonly record struct PersonBox(float X1, float Y1, float X2, float Y2, float Score);
