namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>The colour words of the analytic model and their RGB values in [0, 1] (issue 3, item 6).</summary>
public static class ColourWords
{
    /// <summary>Word → (r, g, b).</summary>
    public static IReadOnlyList<(string Word, float R, float G, float B)> All { get; } =
    [
        ("red", 1f, 0f, 0f),
        ("green", 0f, 1f, 0f),
        ("blue", 0f, 0f, 1f),
        ("yellow", 1f, 1f, 0f),
        ("cyan", 0f, 1f, 1f),
        ("magenta", 1f, 0f, 1f),
        ("white", 1f, 1f, 1f),
        ("black", 0f, 0f, 0f),
        ("gray", 0.5f, 0.5f, 0.5f),
        ("grey", 0.5f, 0.5f, 0.5f),
        ("orange", 1f, 0.5f, 0f),
        ("purple", 0.5f, 0f, 0.5f),
    ];

    /// <summary>The colour of a prompt without colour words.</summary>
    public static (float R, float G, float B) None { get; } = (0.5f, 0.5f, 0.5f);
}
