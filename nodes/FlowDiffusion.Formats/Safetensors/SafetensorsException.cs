namespace FlowDiffusion.Formats.Safetensors;

/// <summary>A file that is not a readable safetensors file, or a tensor in it that cannot be read as asked; the message names both.</summary>
public sealed class SafetensorsException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> (and <paramref name="tensorName"/> when one tensor is at fault).</summary>
    public SafetensorsException(string filePath, string? tensorName, string problem, Exception? inner = null)
        : base(Compose(filePath, tensorName, problem), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, when the problem is one tensor's.</summary>
    public string? TensorName { get; }

    /// <summary>What is wrong, without the file's path (for messages that name the file their own way).</summary>
    public string Problem { get; }

    private static string Compose(string filePath, string? tensorName, string problem) => tensorName is null
        ? $"{filePath}: {problem}"
        : $"{filePath}: tensor '{tensorName}': {problem}";
}
