namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's "bislerp" latent resize: the width, then the height; along an axis each output latent pixel (its vector of
/// channels) is a spherical interpolation between two neighbouring input vectors, whose indices and ratio come from
/// torch's bilinear interpolation of the index ramp. The slerp turns the unit directions; the length is the lerp of
/// the two lengths. Nearly parallel pairs keep the first vector, nearly opposite ones are lerped, as the definition says.
/// </summary>
internal static class Bislerp
{
    /// <summary>Resizes the [batch, channels, height, width] <paramref name="source"/> crop (top, left, cropHeight × cropWidth).</summary>
    public static float[] Resize(ReadOnlySpan<float> source, int batch, int channels, int height, int width,
        int top, int left, int cropHeight, int cropWidth, int newHeight, int newWidth)
    {
        // Pass 1: the width, over the crop's rows.
        var columns = Neighbours(cropWidth, newWidth);
        var wide = new float[batch * channels * cropHeight * newWidth];
        var a = new float[channels];
        var b = new float[channels];
        var result = new float[channels];
        for (var n = 0; n < batch; n++)
        for (var y = 0; y < cropHeight; y++)
        for (var x = 0; x < newWidth; x++)
        {
            var (first, second, ratio) = columns[x];
            for (var c = 0; c < channels; c++)
            {
                var row = ((n * channels + c) * height + top + y) * width + left;
                a[c] = source[row + first];
                b[c] = source[row + second];
            }
            Slerp(a, b, ratio, result);
            for (var c = 0; c < channels; c++) wide[((n * channels + c) * cropHeight + y) * newWidth + x] = result[c];
        }

        // Pass 2: the height, over the widened rows.
        var rows = Neighbours(cropHeight, newHeight);
        var output = new float[batch * channels * newHeight * newWidth];
        for (var n = 0; n < batch; n++)
        for (var y = 0; y < newHeight; y++)
        {
            var (first, second, ratio) = rows[y];
            for (var x = 0; x < newWidth; x++)
            {
                for (var c = 0; c < channels; c++)
                {
                    var plane = (n * channels + c) * cropHeight;
                    a[c] = wide[(plane + first) * newWidth + x];
                    b[c] = wide[(plane + second) * newWidth + x];
                }
                Slerp(a, b, ratio, result);
                for (var c = 0; c < channels; c++) output[((n * channels + c) * newHeight + y) * newWidth + x] = result[c];
            }
        }

        return output;
    }

    // For each output index: the two input indices and the ratio. The ramp 0..n−1 (and 1..n−1, n−1 for the second
    // neighbour) interpolated bilinearly in float32 as torch does (source (i + ½)·scale − ½ clamped at 0), then
    // truncated; the ratio is the first value's fractional part.
    private static (int First, int Second, float Ratio)[] Neighbours(int size, int newSize)
    {
        var scale = (float)size / newSize;
        var result = new (int, int, float)[newSize];
        for (var i = 0; i < newSize; i++)
        {
            var source = Math.Max((i + 0.5f) * scale - 0.5f, 0f);
            var low = Math.Min((int)MathF.Floor(source), size - 1);
            var lambda = Math.Clamp(source - low, 0f, 1f);
            var high = low < size - 1 ? low + 1 : low;
            float Ramp(int k, bool shifted) => shifted ? (k < size - 1 ? k + 1 : size - 1) : k;
            var value = Ramp(low, false) * (1 - lambda) + Ramp(high, false) * lambda;
            var second = Ramp(low, true) * (1 - lambda) + Ramp(high, true) * lambda;
            result[i] = ((int)value, (int)second, value - MathF.Floor(value));
        }
        return result;
    }

    private static void Slerp(float[] a, float[] b, float ratio, float[] result)
    {
        double normA = 0, normB = 0;
        for (var c = 0; c < a.Length; c++)
        {
            normA += (double)a[c] * a[c];
            normB += (double)b[c] * b[c];
        }
        normA = Math.Sqrt(normA);
        normB = Math.Sqrt(normB);
        double dot = 0;
        for (var c = 0; c < a.Length; c++)
            dot += (normA == 0 ? 0 : a[c] / normA) * (normB == 0 ? 0 : b[c] / normB);

        if (dot > 1 - 1e-5)
        {
            a.CopyTo(result, 0);
            return;
        }
        if (dot < 1e-5 - 1)
        {
            for (var c = 0; c < a.Length; c++) result[c] = (float)(a[c] * (1.0 - ratio) + b[c] * (double)ratio);
            return;
        }
        var omega = Math.Acos(dot);
        var sine = Math.Sin(omega);
        var weightA = Math.Sin((1 - ratio) * omega) / sine;
        var weightB = Math.Sin(ratio * omega) / sine;
        var length = normA * (1 - ratio) + normB * ratio;
        for (var c = 0; c < a.Length; c++)
        {
            var direction = weightA * (normA == 0 ? 0 : a[c] / normA) + weightB * (normB == 0 ? 0 : b[c] / normB);
            result[c] = (float)(direction * length);
        }
    }
}
