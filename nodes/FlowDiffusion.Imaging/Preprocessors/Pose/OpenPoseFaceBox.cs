namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>A face crop as the OpenPose annotator's <c>faceDetect</c> places it, in pixels of the image (the crop may end past the image: numpy's slice then keeps what is inside).</summary>
/// <param name="X">Left column.</param>
/// <param name="Y">Top row.</param>
/// <param name="Size">Side.</param>
public readonly record struct OpenPoseFaceBox(int X, int Y, int Size);
