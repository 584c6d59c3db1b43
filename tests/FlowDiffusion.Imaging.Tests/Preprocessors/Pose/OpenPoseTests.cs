using FlowDiffusion.Imaging.Preprocessors.Pose;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Pose;

/// <summary>COCO-WholeBody → OpenPose regrouping and the drawn control image, pixel by pixel.</summary>
public sealed class OpenPoseTests
{
    private static PoseKeypoint[] Hidden(int count) => Enumerable.Repeat(new PoseKeypoint(0, 0, 0.1f), count).ToArray();

    [Fact]
    public void Coco_keypoints_regroup_into_openpose_order_with_the_neck_between_the_shoulders()
    {
        var coco = Hidden(133);
        coco[0] = new PoseKeypoint(50, 10, 0.9f);   // nose
        coco[5] = new PoseKeypoint(70, 40, 0.8f);   // left shoulder
        coco[6] = new PoseKeypoint(30, 44, 0.31f);  // right shoulder
        coco[8] = new PoseKeypoint(25, 60, 0.3f);   // right elbow: exactly the threshold is visible
        coco[1] = new PoseKeypoint(55, 8, 0.29f);   // left eye: just under
        coco[100] = new PoseKeypoint(12, 13, 0.5f); // left hand point 9
        var person = OpenPoseKeypoints.FromCocoWholeBody(coco);

        Assert.Equal(coco[0], person.Body[0]);
        Assert.Equal(new PoseKeypoint(50, 42, 1f), person.Body[1]);
        Assert.Equal(coco[6], person.Body[2]);
        Assert.Equal(coco[8], person.Body[3]);
        Assert.Equal(coco[5], person.Body[5]);
        Assert.Null(person.Body[15]);
        Assert.Equal(13, person.Body.Count(p => p is null));
        Assert.Equal(coco[100], person.LeftHand![9]);
        Assert.Null(person.RightHand);
        Assert.Null(person.Face);

        // A shoulder at 0.3 is drawn but does not make the neck confident (both must exceed 0.3).
        coco[6] = coco[6] with { Score = 0.3f };
        Assert.Null(OpenPoseKeypoints.FromCocoWholeBody(coco).Body[1]);
    }

    [Fact]
    public void The_face_is_its_68_points_and_the_two_eyes()
    {
        var coco = Hidden(133);
        coco[23 + 67] = new PoseKeypoint(5, 6, 0.7f);
        coco[2] = new PoseKeypoint(7, 8, 0.9f); // right eye → OpenPose 14
        var face = OpenPoseKeypoints.FromCocoWholeBody(coco).Face!;
        Assert.Equal(70, face.Length);
        Assert.Equal(coco[90], face[67]);
        Assert.Equal(coco[2], face[68]);
        Assert.Null(face[69]);
    }

    [Fact]
    public void A_limb_is_drawn_at_0_6_of_its_colour_its_points_in_full_colour_on_black()
    {
        var body = new PoseKeypoint?[18];
        body[1] = new PoseKeypoint(20.7f, 30.2f, 1f);  // neck
        body[2] = new PoseKeypoint(60.9f, 30.9f, 1f);  // right shoulder
        body[3] = new PoseKeypoint(60f, 70f, 1f);      // right elbow
        var pixels = OpenPoseCanvas.Draw([new OpenPoseKeypoints(body, null, null, null)], 100, 80, body: true, hands: false, face: false);

        // Limb 0 (neck → right shoulder, red) and limb 2 (right shoulder → elbow, orange 255, 170, 0).
        Assert.Equal((153, 0, 0), Rgb(pixels, 100, 80, 40, 30));
        Assert.Equal((153, 0, 0), Rgb(pixels, 100, 80, 40, 33));   // within the 4-pixel half-width
        Assert.Equal((0, 0, 0), Rgb(pixels, 100, 80, 40, 36));
        Assert.Equal((153, 102, 0), Rgb(pixels, 100, 80, 60, 50));
        // The points: neck (255, 85, 0), right shoulder (255, 170, 0), right elbow (255, 255, 0), at truncated pixels.
        Assert.Equal((255, 85, 0), Rgb(pixels, 100, 80, 20, 30));
        Assert.Equal((255, 170, 0), Rgb(pixels, 100, 80, 60, 30));
        Assert.Equal((255, 255, 0), Rgb(pixels, 100, 80, 60, 70));
        Assert.Equal((0, 0, 0), Rgb(pixels, 100, 80, 5, 5));
        Assert.Equal((0, 0, 0), Rgb(pixels, 100, 80, 40, 60));

        Assert.All(OpenPoseCanvas.Draw([new OpenPoseKeypoints(body, null, null, null)], 100, 80, body: false, hands: true, face: true), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Hand_bones_take_hues_in_twentieths_and_points_are_blue_faces_white()
    {
        Assert.Equal(((byte)255, (byte)0, (byte)0), OpenPoseCanvas.HandBoneColor(0));
        // 0.05 · 6 is 0.30000000000000004 in doubles, so 76.50000000000001 rounds up; 127.5 rounds to even.
        Assert.Equal(((byte)255, (byte)77, (byte)0), OpenPoseCanvas.HandBoneColor(1));
        Assert.Equal(((byte)128, (byte)255, (byte)0), OpenPoseCanvas.HandBoneColor(5));
        Assert.Equal(((byte)0, (byte)255, (byte)255), OpenPoseCanvas.HandBoneColor(10));
        Assert.Equal(((byte)255, (byte)229, (byte)0), OpenPoseCanvas.HandBoneColor(3));
        Assert.Equal(((byte)0, (byte)255, (byte)25), OpenPoseCanvas.HandBoneColor(7));
        Assert.Equal(((byte)255, (byte)0, (byte)77), OpenPoseCanvas.HandBoneColor(19));

        var hand = new PoseKeypoint?[21];
        hand[0] = new PoseKeypoint(10, 10, 1f);
        hand[1] = new PoseKeypoint(40, 10, 1f);
        hand[2] = new PoseKeypoint(40, 40, 1f);
        var face = new PoseKeypoint?[70];
        face[3] = new PoseKeypoint(10, 50, 1f);
        face[4] = new PoseKeypoint(0.5f, 50, 1f); // column 0: not drawn
        var pixels = OpenPoseCanvas.Draw([new OpenPoseKeypoints(new PoseKeypoint?[18], null, hand, face)], 60, 60, body: true, hands: true, face: true);

        Assert.Equal((255, 0, 0), Rgb(pixels, 60, 60, 25, 10));
        Assert.Equal((255, 0, 0), Rgb(pixels, 60, 60, 25, 11));
        Assert.Equal((0, 0, 0), Rgb(pixels, 60, 60, 25, 13));
        Assert.Equal((255, 77, 0), Rgb(pixels, 60, 60, 40, 25));
        Assert.Equal((0, 0, 255), Rgb(pixels, 60, 60, 40, 40));
        Assert.Equal((0, 0, 255), Rgb(pixels, 60, 60, 13, 10));
        Assert.Equal((255, 255, 255), Rgb(pixels, 60, 60, 10, 50));
        Assert.Equal((255, 255, 255), Rgb(pixels, 60, 60, 12, 50));
        Assert.Equal((0, 0, 0), Rgb(pixels, 60, 60, 1, 50));
        Assert.Equal((0, 0, 0), Rgb(pixels, 60, 60, 10, 55));
    }

    private static (int R, int G, int B) Rgb(float[] pixels, int height, int width, int x, int y)
    {
        var plane = height * width;
        int Byte(float v) => (int)MathF.Round(v * 255);
        return (Byte(pixels[y * width + x]), Byte(pixels[plane + y * width + x]), Byte(pixels[2 * plane + y * width + x]));
    }
}
