using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a ControlNet or a T2I-Adapter (as ComfyUI's ControlNetLoader does): an ONNX graph, or a .safetensors file / diffusers folder converted once and cached on disk.</summary>
[Node("controlnet.load", "1.0.0", Category = "loaders", Title = "Load ControlNet",
    Description = "Opens an SD 1.x or SDXL ControlNet (the kind read from its keys): an original control_model.* or diffusers .safetensors file, a diffusers folder (converted to ONNX once, then cached), or an ONNX graph with outputs down_block_0 … and mid_block_res_sample. A T2I-Adapter file or graph loads too, as in ComfyUI (t2i_adapter.load says so explicitly).")]
public sealed class ControlNetLoadNode : INode
{
    /// <summary>The ControlNet file or folder.</summary>
    [Parameter(Description = "The ControlNet (.safetensors, diffusers folder or .onnx), relative to the working folder (e.g. models/controlnet/canny.safetensors).", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The ControlNet.</summary>
    [Output(Description = "The ControlNet, for controlnet.apply.")]
    public IControlNet? ControlNet { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"path: ControlNet '{Path}' not found (looked at {path}).", path);
        }

        ControlNet = ControlModelLoader.Load(context, path, Provider, ControlModelLoader.Kind.Any, cancellationToken);
        return Task.CompletedTask;
    }
}
