namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>The range checks of the merge nodes' numbers, with errors naming the parameter.</summary>
internal static class MergeStrengths
{
    /// <summary>A strength: −10 … 10, ComfyUI's range for ModelMergeSubtract's multiplier.</summary>
    public static void Check(string name, double value)
    {
        if (!(value is >= -10 and <= 10)) throw new ArgumentException($"{name} must be −10 … 10; got {value}");
    }

    /// <summary>A ratio: 0 … 1.</summary>
    public static void CheckRatio(string name, double value)
    {
        if (!(value is >= 0 and <= 1)) throw new ArgumentException($"{name} must be 0 … 1; got {value}");
    }
}
