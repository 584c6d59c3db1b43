using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>ONNX Runtime could not create a session for a model; the message names the file and what to do.</summary>
public sealed class OnnxModelLoadException : Exception
{
    // Fused operators ONNX Runtime's transformer optimiser writes for CUDA/DirectML that its CPU provider does not implement.
    private static readonly HashSet<string> GpuOnlyContribOps = new(StringComparer.Ordinal)
    {
        "GroupNorm", "SkipGroupNorm", "NhwcConv", "BiasSplitGelu", "BiasAdd", "BiasGelu", "PackedAttention",
        "PackedMultiHeadAttention", "GroupQueryAttention", "SkipSimplifiedLayerNormalization", "QOrderedMatMul",
    };

    /// <summary>Wraps ONNX Runtime's error.</summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="inner">ONNX Runtime's error.</param>
    public OnnxModelLoadException(string modelPath, string message, Exception inner)
        : base(message, inner)
    {
        ModelPath = modelPath;
    }

    /// <summary>The model file.</summary>
    public string ModelPath { get; }

    /// <summary>The error for <paramref name="error"/>, naming GPU-only fused operators when the export has them.</summary>
    internal static OnnxModelLoadException Explain(OnnxModelSource source, OnnxModelFile file, OnnxRuntimeException error)
    {
        var provider = ExecutionProviders.Normalize(source.Options.Provider);
        var gpuOnly = file.Nodes
            .Where(n => n.Domain == "com.microsoft" && GpuOnlyContribOps.Contains(n.OpType))
            .Select(n => n.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (provider == "cpu" && gpuOnly.Count > 0)
        {
            return new OnnxModelLoadException(
                source.ModelPath,
                $"'{source.ModelPath}' uses the fused operator{(gpuOnly.Count > 1 ? "s" : string.Empty)} {string.Join(", ", gpuOnly.Select(o => "com.microsoft." + o))}, "
                + "which ONNX Runtime's CPU provider does not have: this export was optimised for the GPU only. "
                + "Run it with provider cuda (or directml), or use an export made without ONNX Runtime's GPU optimisations "
                + $"(e.g. optimum-cli export onnx without --optimize). ONNX Runtime said: {error.Message}",
                error);
        }
        var folder = Path.GetDirectoryName(file.Path)! + Path.DirectorySeparatorChar;
        var escaping = file.ExternalDataFiles
            .Where(f => new FileInfo(f).ResolveLinkTarget(returnFinalTarget: true) is { } target && !target.FullName.StartsWith(folder, StringComparison.Ordinal))
            .Select(Path.GetFileName).ToList();
        if (escaping.Count > 0)
        {
            return new OnnxModelLoadException(
                source.ModelPath,
                $"'{source.ModelPath}' keeps its weights in {string.Join(", ", escaping)}, a symbolic link to a file outside the model's folder "
                + "(as the Hugging Face cache lays files out), and ONNX Runtime refuses external data outside the folder. "
                + $"Copy the model with its links resolved (cp -rL <snapshot folder> <models folder>) and load the copy. ONNX Runtime said: {error.Message}",
                error);
        }
        return new OnnxModelLoadException(source.ModelPath, $"ONNX Runtime could not load '{source}': {error.Message}", error);
    }
}
