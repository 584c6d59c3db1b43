namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// Broken weights files for the annotator nodes' tests: <c>garbage</c> (not a torch file at all), <c>skip</c> (the
/// published layout without the named tensor) or <c>reshape</c> (the named tensor in another shape).
/// </summary>
internal static class AnnotatorWeightsDamage
{
    /// <summary>Writes <c>temp/{prefix}-{damage}/{file}</c> damaged as named and returns its path.</summary>
    /// <param name="temp">The test's folder.</param>
    /// <param name="prefix">The annotator, naming the folder.</param>
    /// <param name="file">The file's name, as users download it.</param>
    /// <param name="damage"><c>garbage</c>, <c>skip</c> or <c>reshape</c>.</param>
    /// <param name="tensor">The tensor left out or reshaped.</param>
    /// <param name="write">Writes the weights to a path, leaving out (skip) or reshaping (reshape) the tensor given.</param>
    public static string Write(TempFolder temp, string prefix, string file, string damage, string tensor, Action<string, string?, string?> write)
    {
        var path = Path.Combine(temp.Path, $"{prefix}-{damage}", file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (damage == "garbage") File.WriteAllBytes(path, "not a torch file at all"u8.ToArray());
        else write(path, damage == "skip" ? tensor : null, damage == "reshape" ? tensor : null);
        return path;
    }
}
