namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>Python's <c>a[start:end]</c> on an axis, which ComfyUI's tensor code relies on at the edges.</summary>
internal static class PythonSlice
{
    /// <summary>The indices [From, To) that <c>a[start:end]</c> covers: a negative index counts from the end, both clamp to 0 … length.</summary>
    public static (int From, int To) Range(int start, int end, int length)
    {
        static int Clamp(int index, int length) => Math.Clamp(index < 0 ? index + length : index, 0, length);
        return (Clamp(start, length), Clamp(end, length));
    }
}
