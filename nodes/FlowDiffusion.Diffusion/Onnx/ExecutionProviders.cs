using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The execution providers FlowDiffusion can configure, and which of them the installed ONNX Runtime carries.
/// </summary>
/// <remarks>
/// The default build references the CPU-only package <c>Microsoft.ML.OnnxRuntime</c>. To get CUDA/TensorRT,
/// DirectML or CoreML, build with the MSBuild property <c>OnnxRuntimePackage</c> naming the native package, e.g.
/// <c>dotnet build -p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu</c> or
/// <c>-p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.DirectML</c>. A provider that is asked for but missing is an
/// error, never a silent fallback to CPU.
/// </remarks>
public static class ExecutionProviders
{
    /// <summary>Every provider FlowDiffusion knows how to configure.</summary>
    public static IReadOnlyList<ExecutionProvider> Known { get; } =
    [
        new("cpu", "CPUExecutionProvider"),
        new("cuda", "CUDAExecutionProvider"),
        new("directml", "DmlExecutionProvider"),
        new("tensorrt", "TensorrtExecutionProvider"),
        new("coreml", "CoreMLExecutionProvider"),
    ];

    /// <summary>The provider names (ONNX Runtime's spelling) the installed native runtime reports.</summary>
    public static IReadOnlyList<string> Available => OnnxEnvironment.Instance.GetAvailableProviders();

    /// <summary>
    /// Finds the provider named <paramref name="name"/> and checks that the installed runtime has it.
    /// </summary>
    /// <param name="name">A short name (<c>cuda</c>) or ONNX Runtime's name (<c>CUDAExecutionProvider</c>).</param>
    /// <exception cref="ExecutionProviderNotAvailableException">The name is unknown or the runtime lacks it.</exception>
    public static ExecutionProvider Resolve(string name)
    {
        var normalized = Normalize(name);
        var available = Available;
        var provider = Known.FirstOrDefault(p => p.Name == normalized);
        if (provider is null || !available.Contains(provider.RuntimeName, StringComparer.Ordinal))
        {
            throw new ExecutionProviderNotAvailableException(name, available);
        }
        return provider;
    }

    /// <summary>Maps a short or runtime provider name to the short name; unknown names come back lower-cased.</summary>
    internal static string Normalize(string name)
    {
        var trimmed = name.Trim();
        foreach (var provider in Known)
        {
            if (string.Equals(trimmed, provider.Name, StringComparison.OrdinalIgnoreCase)
                || string.Equals(trimmed, provider.RuntimeName, StringComparison.OrdinalIgnoreCase))
            {
                return provider.Name;
            }
        }
        return string.Equals(trimmed, "dml", StringComparison.OrdinalIgnoreCase) ? "directml" : trimmed.ToLowerInvariant();
    }
}
