namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>A square hand crop as the OpenPose annotator's <c>handDetect</c> places it, in pixels of the image.</summary>
/// <param name="X">Left column.</param>
/// <param name="Y">Top row.</param>
/// <param name="Size">Side.</param>
/// <param name="Left">Whether it is the left hand (from body points 5–7; the right from 2–4).</param>
public readonly record struct OpenPoseHandBox(int X, int Y, int Size, bool Left);
