using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads an image upscale model (ESRGAN family) exported to ONNX.</summary>
[Node("upscale.load", "1.0.0", Category = "loaders", Title = "Load Upscale Model",
    Description = "Opens an image upscale model (ESRGAN, Real-ESRGAN, 4x-UltraSharp … exported to ONNX: one input [B, 3, h, w] in [0, 1], one output s× larger), as ComfyUI's Load Upscale Model; its scale is read from the output.")]
public sealed class UpscaleModelLoadNode : INode
{
    /// <summary>The ONNX file.</summary>
    [Parameter(Description = "The upscale model (.onnx), relative to the working folder (e.g. models/upscale_models/4x-UltraSharp.onnx).", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The model.</summary>
    [Output(Description = "The upscale model, for image.upscale_with_model.")]
    public IUpscaleModel? UpscaleModel { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"path: '{Path}' is not an ONNX file; export the upscale model to .onnx (models/upscale_models/NAME.onnx)");
        if (!File.Exists(path)) throw new FileNotFoundException($"path: upscale model '{Path}' not found (looked at {path}).", path);
        var options = OnnxSessionOptions.Parse(Provider, "");
        var sessions = ModelLibrary.Of(context).Sessions;
        // One network per file and provider for the host's lifetime: it keeps its pinned tile buffer between runs.
        var network = context.Resources.GetOrAdd($"upscale|{path}|{options.Describe()}", () => UpscaleNetwork.Open(sessions, new OnnxModelSource(path, options)));
        UpscaleModel = new UpscaleModelHandle(System.IO.Path.GetFileNameWithoutExtension(path), network);
        return Task.CompletedTask;
    }
}
