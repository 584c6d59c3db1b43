using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>One execution provider: the short name users write and the name ONNX Runtime reports.</summary>
/// <param name="Name">The short name: <c>cpu</c>, <c>cuda</c>, <c>directml</c>, <c>tensorrt</c> or <c>coreml</c>.</param>
/// <param name="RuntimeName">The name <c>OrtEnv.GetAvailableProviders()</c> lists, e.g. <c>CUDAExecutionProvider</c>.</param>
public sealed record ExecutionProvider(string Name, string RuntimeName)
{
    /// <summary>Registers this provider on <paramref name="options"/>.</summary>
    /// <param name="options">The session options to extend.</param>
    /// <param name="deviceId">The accelerator index for GPU providers.</param>
    /// <param name="providerOptions">Provider options by ONNX Runtime's names (CUDA and TensorRT take them).</param>
    internal void AppendTo(SessionOptions options, int deviceId, IReadOnlyDictionary<string, string> providerOptions)
    {
        switch (Name)
        {
            case "cpu":
                // CPU is always registered last by ONNX Runtime; nothing to add.
                break;
            case "cuda":
                using (var cuda = new OrtCUDAProviderOptions())
                {
                    var settings = new Dictionary<string, string>(providerOptions, StringComparer.Ordinal)
                    {
                        ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    };
                    cuda.UpdateOptions(settings);
                    options.AppendExecutionProvider_CUDA(cuda);
                }
                break;
            case "directml":
                options.AppendExecutionProvider_DML(deviceId);
                break;
            case "tensorrt":
                using (var tensorRt = new OrtTensorRTProviderOptions())
                {
                    var settings = new Dictionary<string, string>(providerOptions, StringComparer.Ordinal)
                    {
                        ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    };
                    tensorRt.UpdateOptions(settings);
                    options.AppendExecutionProvider_Tensorrt(tensorRt);
                }
                break;
            case "coreml":
                options.AppendExecutionProvider_CoreML(CoreMLFlags.COREML_FLAG_USE_NONE);
                break;
            default:
                throw new InvalidOperationException($"No registration is known for execution provider '{Name}'.");
        }
    }
}
