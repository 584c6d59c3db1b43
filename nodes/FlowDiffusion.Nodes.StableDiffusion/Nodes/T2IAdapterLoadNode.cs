using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a T2I-Adapter, applied with controlnet.apply: an ONNX graph, or a .safetensors file / diffusers folder converted once and cached on disk.</summary>
[Node("t2i_adapter.load", "1.0.0", Category = "loaders", Title = "Load T2I-Adapter",
    Description = "Opens a full T2I-Adapter (SD 1.x or SDXL, read from its keys and shapes): an original TencentARC or diffusers .safetensors file, a diffusers folder (converted to ONNX once, then cached), or an ONNX graph with input image and outputs feature_0 …. Apply it with controlnet.apply: its features × strength are added inside the UNet's encoder between the start and end fractions of the schedule.")]
public sealed class T2IAdapterLoadNode : INode
{
    /// <summary>The adapter file or folder.</summary>
    [Parameter(Description = "The T2I-Adapter (.safetensors, diffusers folder or .onnx), relative to the working folder (e.g. models/controlnet/t2iadapter_canny_sd15v2.safetensors).", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The adapter, as a ControlNet handle.</summary>
    [Output(Description = "The T2I-Adapter, for controlnet.apply.")]
    public IControlNet? ControlNet { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"path: T2I-Adapter '{Path}' not found (looked at {path}).", path);
        }

        ControlNet = ControlModelLoader.Load(context, path, Provider, ControlModelLoader.Kind.T2IAdapter, cancellationToken);
        return Task.CompletedTask;
    }
}
