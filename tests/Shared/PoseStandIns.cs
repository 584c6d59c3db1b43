using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// Stand-ins for DWPose's two ONNX files whose outputs are known in closed form (no pose model can be downloaded here):
/// a person detector that always finds one person and a SimCC pose model that always peaks at chosen bins. ImagePoseTests
/// derives the drawn pixels from them; the workflow runs of every way in use them to run pose-controlnet.
/// </summary>
public static class PoseStandIns
{
    private const int Keypoints = 133, BinsX = 96, BinsY = 128;

    // The comments give the pixel each peak lands on in ImagePoseTests' 96 × 128 image.
    /// <summary>COCO-WholeBody index → the SimCC bins (x, y) <see cref="PoseModel"/> peaks at.</summary>
    public static readonly (int Coco, int Bx, int By)[] Peaks =
    [
        (6, 16, 32),   // right shoulder → (18, 42)
        (5, 80, 32),   // left shoulder  → (78, 42)
        (8, 16, 64),   // right elbow    → (18, 72)
        (91, 48, 96),  // left hand 0    → (48, 102)
        (92, 80, 96),  // left hand 1    → (78, 102)
        (23, 48, 16),  // face 0         → (48, 27)
    ];

    // The input only enters as 0 × its sum, so the output is the constant whatever the image (and ONNX Runtime keeps the input).
    private static string Constant(GraphBuilder g, string input, string name, float[] values, params long[] dims) =>
        g.Add(g.Weight(name, values, dims), g.Mul(g.ReduceSum(input, [0, 1, 2, 3], keepDims: false), g.Scalar(0)));

    /// <summary>A 64 × 64 "YOLOX" whose <paramref name="anchors"/> rows hold one person (stride 16, cell (1, 2), score 0.9 × 0.8).</summary>
    public static OnnxModel Detector(int anchors)
    {
        var rows = new float[anchors * 6];
        float[] person = [0.5f, 0.25f, MathF.Log(2), MathF.Log(3), 0.9f, 0.8f];
        person.CopyTo(rows, 73 * 6);
        var g = new GraphBuilder("one-person-detector");
        var x = g.Input("images", TensorElementType.Float, 1, 3, 64, 64);
        g.Output(Constant(g, x, "rows", rows, 1, anchors, 6), "output", TensorElementType.Float, 1, anchors, 6);
        return g.Build("closed-form test detector: one person at stride 16, cell (1, 2)");
    }

    /// <summary>A 48 × 64 "RTMPose" with SimCC peaks at <see cref="Peaks"/>; <paramref name="twoOutputs"/> false leaves out simcc_y.</summary>
    public static OnnxModel PoseModel(bool twoOutputs)
    {
        float[] x = new float[Keypoints * BinsX], y = new float[Keypoints * BinsY];
        foreach (var (coco, bx, by) in Peaks)
        {
            x[coco * BinsX + bx] = 0.9f;
            y[coco * BinsY + by] = 0.9f;
        }
        var g = new GraphBuilder("simcc-peaks");
        var input = g.Input("input", TensorElementType.Float, 1, 3, 64, 48);
        g.Output(Constant(g, input, "x", x, 1, Keypoints, BinsX), "simcc_x", TensorElementType.Float, 1, Keypoints, BinsX);
        if (twoOutputs) g.Output(Constant(g, input, "y", y, 1, Keypoints, BinsY), "simcc_y", TensorElementType.Float, 1, Keypoints, BinsY);
        return g.Build("closed-form test pose model: SimCC peaks at chosen bins");
    }
}
