namespace FlowDiffusion.Imaging.Preprocessors;

/// <summary>
/// Canny's hysteresis: strong edge pixels stay edges, and candidate pixels 8-connected to one through other candidates
/// become edges too; the rest are dropped. A flood fill from the strong pixels, linear in the image.
/// </summary>
internal static class EdgeHysteresis
{
    /// <summary>Candidate pixels.</summary>
    public const byte Candidate = 1;

    /// <summary>Edge pixels.</summary>
    public const byte Edge = 2;

    /// <summary>The edge map (1 on edges, 0 elsewhere) of pixels marked 0, <see cref="Candidate"/> or <see cref="Edge"/>.</summary>
    /// <param name="state">The marks, row-major [height, width]; candidates reached become edges.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    public static float[] Connect(byte[] state, int height, int width)
    {
        var stack = new Stack<int>();
        for (var i = 0; i < state.Length; i++)
        {
            if (state[i] == Edge) stack.Push(i);
        }

        while (stack.Count > 0)
        {
            var i = stack.Pop();
            int y = i / width, x = i % width;
            for (var yy = Math.Max(y - 1, 0); yy <= Math.Min(y + 1, height - 1); yy++)
            for (var xx = Math.Max(x - 1, 0); xx <= Math.Min(x + 1, width - 1); xx++)
            {
                var j = yy * width + xx;
                if (state[j] != Candidate) continue;
                state[j] = Edge;
                stack.Push(j);
            }
        }

        var edges = new float[state.Length];
        for (var i = 0; i < edges.Length; i++) edges[i] = state[i] == Edge ? 1f : 0f;
        return edges;
    }
}
