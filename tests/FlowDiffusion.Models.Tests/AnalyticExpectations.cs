namespace FlowDiffusion.Models.Tests;

/// <summary>The analytic model's closed form, written out again here so the tests do not trust the generator's code.</summary>
internal static class AnalyticExpectations
{
    public const double ScalingFactor = 0.18215;

    /// <summary>½ × the first three columns of the 4×4 Hadamard matrix (the generator's documented M).</summary>
    public static readonly double[,] M =
    {
        { 0.5, 0.5, 0.5 },
        { 0.5, -0.5, 0.5 },
        { 0.5, 0.5, -0.5 },
        { 0.5, -0.5, -0.5 },
    };

    /// <summary>x0 = 0.18215 · M · (2c − 1).</summary>
    public static double[] ColourLatent(double r, double g, double b)
    {
        double[] signed = [2 * r - 1, 2 * g - 1, 2 * b - 1];
        return Enumerable.Range(0, 4).Select(k => ScalingFactor * (M[k, 0] * signed[0] + M[k, 1] * signed[1] + M[k, 2] * signed[2])).ToArray();
    }

    /// <summary>Deterministic standard-normal-ish noise (Box–Muller over System.Random with a fixed seed).</summary>
    public static float[] Noise(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
            (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    /// <summary>An encoder_hidden_states tensor [batch, sequence, 4] with the given (r, g, b) colour-token rows per item.</summary>
    public static float[] Context(int sequence, params (double R, double G, double B)[][] tokensPerItem)
    {
        var context = new float[tokensPerItem.Length * sequence * 4];
        for (var b = 0; b < tokensPerItem.Length; b++)
        {
            for (var i = 0; i < tokensPerItem[b].Length; i++)
            {
                // Colour tokens sit after BOS at positions 1, 3, 5 …, as between other words.
                var row = (b * sequence + 1 + 2 * i) * 4;
                (context[row], context[row + 1], context[row + 2], context[row + 3]) =
                    ((float)tokensPerItem[b][i].R, (float)tokensPerItem[b][i].G, (float)tokensPerItem[b][i].B, 1f);
            }
        }

        return context;
    }
}
