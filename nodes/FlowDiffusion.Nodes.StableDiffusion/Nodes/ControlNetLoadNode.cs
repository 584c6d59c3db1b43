using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a ControlNet: an ONNX graph, or a .safetensors file / diffusers folder converted once and cached on disk.</summary>
[Node("controlnet.load", "1.0.0", Category = "loaders", Title = "Load ControlNet",
    Description = "Opens an SD 1.x or SDXL ControlNet (the kind read from its keys): an original control_model.* or diffusers .safetensors file, a diffusers folder (converted to ONNX once, then cached), or an ONNX graph with outputs down_block_0 … and mid_block_res_sample.")]
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

        var graph = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? path
            : ControlNetCache.Prepare(path, ControlNetCache.DefaultRoot, () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")),
                Conversions.Limits(context, cancellationToken));
        var sessions = ModelLibrary.Of(context).Sessions;
        var model = ControlNetModel.Open(sessions, new OnnxModelSource(graph, OnnxSessionOptions.Parse(Provider, "")));
        ControlNet = new ControlNetHandle(System.IO.Path.GetFileNameWithoutExtension(path.TrimEnd(System.IO.Path.DirectorySeparatorChar)), model);
        return Task.CompletedTask;
    }
}
