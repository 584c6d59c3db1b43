using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads a CLIP image encoder: an ONNX graph, or a .safetensors file / folder converted once and cached on disk.</summary>
[Node("clip_vision.load", "1.0.0", Category = "loaders", Title = "Load CLIP Vision",
    Description = "Opens a CLIP image encoder (CLIPVisionModelWithProjection): a .safetensors file as ComfyUI's models/clip_vision holds them, a folder with model.safetensors and config.json (IP-Adapter's image_encoder), converted to ONNX once and then cached, or an ONNX graph taking pixel_values and giving image_embeds.")]
public sealed class ClipVisionLoadNode : INode
{
    /// <summary>The encoder file or folder.</summary>
    [Parameter(Description = "The CLIP vision model (.safetensors, folder or .onnx), relative to the working folder (e.g. models/clip_vision/CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors).", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The encoder.</summary>
    [Output(Description = "The CLIP image encoder, for clip_vision.encode.")]
    public IClipVision? ClipVision { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"path: CLIP vision model '{Path}' not found (looked at {path}).", path);
        }

        var graph = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? path
            : PreparedGraphCache.PrepareClipVision(path, PreparedGraphCache.RootOf("clip_vision"), () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")),
                Conversions.Limits(context, cancellationToken));
        var model = ClipVisionModel.Open(ModelLibrary.Of(context).Sessions, new OnnxModelSource(graph, OnnxSessionOptions.Parse(Provider, "")));
        ClipVision = new ClipVisionHandle(System.IO.Path.GetFileNameWithoutExtension(path.TrimEnd(System.IO.Path.DirectorySeparatorChar)), model);
        return Task.CompletedTask;
    }
}
