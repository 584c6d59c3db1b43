namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The configuration asks for an execution provider that the installed ONNX Runtime does not carry.
/// </summary>
public sealed class ExecutionProviderNotAvailableException : Exception
{
    /// <summary>Creates the error for <paramref name="requested"/> given what the runtime offers.</summary>
    /// <param name="requested">The provider name as configured.</param>
    /// <param name="available">The provider names the runtime reports.</param>
    public ExecutionProviderNotAvailableException(string requested, IReadOnlyList<string> available)
        : base(Describe(requested, available))
    {
        RequestedProvider = requested;
        AvailableProviders = available;
    }

    /// <summary>The provider name as configured.</summary>
    public string RequestedProvider { get; }

    /// <summary>The provider names the installed runtime reports (ONNX Runtime's spelling).</summary>
    public IReadOnlyList<string> AvailableProviders { get; }

    private static string Describe(string requested, IReadOnlyList<string> available)
    {
        var known = string.Join(", ", ExecutionProviders.Known.Select(p => p.Name));
        var offered = string.Join(", ", available.Select(a =>
            ExecutionProviders.Known.FirstOrDefault(p => p.RuntimeName == a) is { } p ? $"{p.Name} ({a})" : a));
        return $"Execution provider '{requested}' is not available in the installed ONNX Runtime. "
            + $"Available: {offered}. Known provider names: {known}. "
            + "GPU providers need the matching native package: build with "
            + "-p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu (CUDA, TensorRT) or "
            + "-p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.DirectML (DirectML).";
    }
}
