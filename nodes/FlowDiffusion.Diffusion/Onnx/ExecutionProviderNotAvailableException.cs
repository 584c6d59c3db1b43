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

    /// <summary>
    /// Creates the error for a provider the runtime lists but could not load (a GPU build on a machine without the GPU,
    /// its driver or the CUDA/cuDNN libraries): <paramref name="reason"/> is ONNX Runtime's own explanation.
    /// </summary>
    /// <param name="requested">The provider name as configured.</param>
    /// <param name="available">The provider names the runtime reports.</param>
    /// <param name="reason">Why the provider's library could not be loaded, as ONNX Runtime says it.</param>
    /// <param name="inner">The runtime's error.</param>
    public ExecutionProviderNotAvailableException(string requested, IReadOnlyList<string> available, string reason, Exception? inner = null)
        : base(DescribeUnloadable(requested, available, reason), inner)
    {
        RequestedProvider = requested;
        AvailableProviders = available;
    }

    /// <summary>The provider name as configured.</summary>
    public string RequestedProvider { get; }

    /// <summary>The provider names the installed runtime reports (ONNX Runtime's spelling).</summary>
    public IReadOnlyList<string> AvailableProviders { get; }

    private static string DescribeUnloadable(string requested, IReadOnlyList<string> available, string reason) =>
        $"Execution provider '{requested}' is in the installed ONNX Runtime ({string.Join(", ", available)}) but could not be "
        + $"loaded on this machine: {reason.Trim()} A CUDA or TensorRT provider needs an NVIDIA GPU with its driver and the "
        + "CUDA 12 and cuDNN 9 libraries on the library path; use provider 'cpu' on a machine without them.";

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
