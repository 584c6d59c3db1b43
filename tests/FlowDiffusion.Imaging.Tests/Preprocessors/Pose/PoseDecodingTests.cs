using FlowDiffusion.Imaging.Preprocessors.Pose;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Pose;

/// <summary>The DWPose decoding steps on hand-worked values: suppression, YOLOX grids, SimCC argmax, the crop and its inverse.</summary>
public sealed class PoseDecodingTests
{
    [Fact]
    public void Suppression_keeps_the_best_box_and_drops_those_overlapping_it_above_the_threshold_counting_pixels_inclusively()
    {
        var a = new PersonBox(0, 0, 9, 9, 0.9f);     // 10 × 10 = 100 pixels
        var b = new PersonBox(5, 0, 14, 9, 0.8f);    // shares 5 × 10 with a: 50 / 150
        var c = new PersonBox(1, 0, 10, 9, 0.95f);   // shares 9 × 10 with a: 90 / 110; with b: 6 × 10 = 60 / 140
        Assert.Equal(1f / 3, BoxSuppression.Overlap(a, b), 1e-6f);
        Assert.Equal(90f / 110, BoxSuppression.Overlap(a, c), 1e-6f);

        // c (0.95) first removes a (0.818 > 0.45) but keeps b (0.43 ≤ 0.45).
        Assert.Equal([c, b], BoxSuppression.Greedy([a, b, c], 0.45f));
        Assert.Equal([c, a, b], BoxSuppression.Greedy([a, b, c], 0.9f));
    }

    [Fact]
    public void Yolox_rows_are_laid_out_stride_by_stride_and_decode_to_letterbox_scaled_person_boxes()
    {
        // 64 × 64 input: 8 × 8 cells at stride 8, 4 × 4 at 16, 2 × 2 at 32 = 84 rows; 5 + 1 values (one class).
        Assert.Equal([8, 16, 32], YoloxDetections.Strides(84, 64, 64)!);
        Assert.Equal([8, 16, 32, 64], YoloxDetections.Strides(85, 64, 64)!);
        Assert.Null(YoloxDetections.Strides(83, 64, 64));

        var predictions = new float[84 * 7];
        void Row(int row, params float[] values) => values.CopyTo(predictions, row * 7);
        // Stride 16, cell (x 1, y 2) is row 64 + 2·4 + 1 = 73: centre ((0.5 + 1)·16, (0.25 + 2)·16) = (24, 36), size (2·16, 3·16).
        Row(73, 0.5f, 0.25f, MathF.Log(2), MathF.Log(3), 0.9f, 0.8f, 0.1f);
        // The same box shifted by one pixel, scored 0.6: suppressed.
        Row(74, 0.5f - 1f / 16 - 1, 0.25f, MathF.Log(2), MathF.Log(3), 0.75f, 0.8f, 0f);
        // Stride 8, cell (x 7, y 0): a person scored 0.5 × 0.5 = 0.25, a candidate (> 0.1) but not kept (≤ 0.3).
        Row(7, 0, 0, 0, 0, 0.5f, 0.5f, 0f);
        // Stride 32, cell (x 0, y 1) is row 80 + 2: a confident object of class 1, never a person.
        Row(82, 0, 0, 0, 0, 0.99f, 0.01f, 0.99f);

        var people = YoloxDetections.People(predictions, 7, [8, 16, 32], 64, 64, ratio: 0.5f, maxPeople: 10);
        var person = Assert.Single(people);
        // (24 ∓ 16, 36 ∓ 24) in input pixels, ÷ 0.5 in the image.
        Assert.Equal(16f, person.X1, 1e-4f);
        Assert.Equal(24f, person.Y1, 1e-4f);
        Assert.Equal(80f, person.X2, 1e-4f);
        Assert.Equal(120f, person.Y2, 1e-4f);
        Assert.Equal(0.72f, person.Score, 1e-6f);
    }

    [Fact]
    public void Simcc_takes_the_first_argmax_per_axis_divides_by_the_split_ratio_and_scores_the_lower_peak()
    {
        float[] x =
        [
            0.1f, 0.7f, 0.2f, 0.7f, 0f, 0f,      // keypoint 0: first maximum at bin 1 (0.7)
            0f, 0f, 0f, 0f, 0f, 0.4f,            // keypoint 1: bin 5 (0.4)
            -0.2f, -0.1f, -0.3f, -0.5f, -1f, -1f, // keypoint 2: nothing positive
        ];
        float[] y =
        [
            0f, 0f, 0.5f, 0f,
            0.9f, 0f, 0f, 0f,
            0f, 0f, 0f, 0.3f,
        ];
        var keypoints = SimccDecoding.Decode(x, y, 3, 2f, 2f);
        Assert.Equal(new PoseKeypoint(0.5f, 1f, 0.5f), keypoints[0]);
        Assert.Equal(new PoseKeypoint(2.5f, 0f, 0.4f), keypoints[1]);
        Assert.Equal(new PoseKeypoint(-0.5f, -0.5f, -0.1f), keypoints[2]);
    }

    [Fact]
    public void The_crop_pads_the_box_by_1_25_fixes_the_aspect_ratio_and_maps_input_pixels_back_to_the_image()
    {
        // Box 40 × 80 → 50 × 100 padded; a 288 × 384 input (aspect 0.75) widens it to 75 × 100 around (30, 60).
        var crop = PoseCrop.Around(new PersonBox(10, 20, 50, 100, 1f), 288, 384);
        Assert.Equal(new PoseCrop(30, 60, 75, 100, 288, 384), crop);
        Assert.Equal((-7.5f, 10f), crop.ToImage(0, 0));
        Assert.Equal((30f, 60f), crop.ToImage(144, 192));
        Assert.Equal((67.5f, 110f), crop.ToImage(288, 384));

        // A wide box is heightened instead: 100 × 10 → 125 × 12.5 → 125 × 166.67.
        var wide = PoseCrop.Around(new PersonBox(0, 0, 100, 10, 1f), 288, 384);
        Assert.Equal(125f, wide.ScaleWidth, 1e-4f);
        Assert.Equal(500f / 3, wide.ScaleHeight, 1e-3f);
    }

    [Fact]
    public void The_crop_samples_bilinearly_at_integer_output_coordinates_with_black_outside_and_imagenet_normalisation()
    {
        // An 8 × 8 image whose 8-bit red is 10·column, green 10·row, blue 0.
        const int size = 8;
        var rgb = new float[3 * size * size];
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            rgb[y * size + x] = (10 * x + 0.5f) / 255;
            rgb[size * size + y * size + x] = (10 * y + 0.5f) / 255;
        }

        // Scale 2 on a 4-pixel input: input (x, y) samples the image at (x / 2 + 3, y / 2 + 3), half a pixel per step.
        var crop = new PoseCrop(4, 4, 2, 2, 4, 4);
        var input = crop.Sample(rgb, size, size);
        static float Red(float value) => (value - 123.675f) / 58.395f;
        static float Green(float value) => (value - 116.28f) / 57.12f;
        static float Blue(float value) => (value - 103.53f) / 57.375f;
        Assert.Equal(Red(30), input[0], 1e-5f);
        Assert.Equal(Red(35), input[1], 1e-5f);          // between columns 3 and 4
        Assert.Equal(Green(45), input[16 + 3 * 4], 1e-5f); // row 3 / 2 + 3 = 4.5
        Assert.Equal(Blue(0), input[32 + 5], 1e-5f);

        // Scale 8 on 4 pixels around (2, 2): input (x, y) samples (2x − 2, 2y − 2); row −2 is outside (black) though column 4 has red 40.
        var outside = new PoseCrop(2, 2, 8, 8, 4, 4).Sample(rgb, size, size);
        Assert.Equal(Red(0), outside[3], 1e-5f);
        Assert.Equal(Red(40), outside[3 * 4 + 3], 1e-5f);
        Assert.Equal(Green(40), outside[16 + 3 * 4 + 3], 1e-5f);
    }

    [Fact]
    public void The_letterbox_scales_by_the_smaller_ratio_to_the_top_left_and_fills_the_rest_with_114()
    {
        // A 4 × 2 (h × w) image into 2 × 2: ratio 0.5, 2 × 1 scaled, column 1 is fill.
        var rgb = new float[3 * 4 * 2];
        for (var y = 0; y < 4; y++) { rgb[y * 2] = (40 * y + 0.5f) / 255; rgb[y * 2 + 1] = (40 * y + 20.5f) / 255; }
        var (pixels, ratio) = DetectorLetterbox.Fit(rgb, 4, 2, 2, 2);
        Assert.Equal(0.5f, ratio);
        // Output (0, 0) samples (0.5, 0.5): the mean of rows 0–1, columns 0–1 = (0 + 20 + 40 + 60) / 4 = 30.
        Assert.Equal(30f, pixels[0]);
        Assert.Equal(110f, pixels[2]);     // rows 2–3: (80 + 100 + 120 + 140) / 4
        Assert.Equal(DetectorLetterbox.Fill, pixels[1]);
        Assert.Equal(DetectorLetterbox.Fill, pixels[3]);
        Assert.Equal(0f, pixels[4]);       // green is 0
    }
}
