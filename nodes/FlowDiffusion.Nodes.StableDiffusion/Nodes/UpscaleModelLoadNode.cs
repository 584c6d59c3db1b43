using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads an image upscale model: an ONNX export, or an ESRGAN/Real-ESRGAN or SPAN .safetensors or .pth converted once and cached.</summary>
[Node("upscale.load", "1.0.0", Category = "loaders", Title = "Load Upscale Model",
    Description = "Opens an image upscale model, as ComfyUI's Load Upscale Model: an ONNX export (ESRGAN, Real-ESRGAN, 4x-UltraSharp, SwinIR …: one input [B, 3, h, w] in [0, 1], one output s× larger; the scale is read from the output) or an ESRGAN/Real-ESRGAN .safetensors or .pth — RRDBNet in either key layout, or the compact SRVGGNetCompact (realesr-general-x4v3) — or a SPAN (2x-ClearRealityV1, 4xNomos8k_span_otf_strong), converted to ONNX on first load.")]
public sealed class UpscaleModelLoadNode : INode
{
    /// <summary>The ONNX file.</summary>
    [Parameter(Description = "The upscale model (.onnx, or an ESRGAN or SPAN .safetensors or .pth), relative to the working folder (e.g. models/upscale_models/4x-UltraSharp.onnx).", Required = true)]
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
        var extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension != ".onnx" && !WeightFiles.IsWeightFile(path))
            throw new ArgumentException($"path: '{Path}' is neither an ONNX file nor an ESRGAN or SPAN model's weights (models/upscale_models/NAME.onnx, NAME.safetensors or NAME.pth)");
        if (!File.Exists(path)) throw new FileNotFoundException($"path: upscale model '{Path}' not found (looked at {path}).", path);
        if (extension != ".onnx")
        {
            path = UpscaleModelCache.Prepare(path, UpscaleModelCache.DefaultRoot, () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")),
                Conversions.Limits(context, cancellationToken));
        }

        var options = OnnxSessionOptions.Parse(Provider, "");
        var sessions = ModelLibrary.Of(context).Sessions;
        // One network per file and provider for the host's lifetime: it keeps its pinned tile buffer between runs.
        var network = context.Resources.GetOrAdd($"upscale|{path}|{options.Describe()}", () => UpscaleNetwork.Open(sessions, new OnnxModelSource(path, options)));
        UpscaleModel = new UpscaleModelHandle(System.IO.Path.GetFileNameWithoutExtension(PathResolver.Resolve(context, Path)), network);
        return Task.CompletedTask;
    }
}
