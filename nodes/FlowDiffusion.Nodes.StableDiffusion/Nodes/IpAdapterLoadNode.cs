using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads an IP-Adapter: a .safetensors file converted once and cached on disk, or its ONNX graph.</summary>
[Node("ipadapter.load", "1.1.0", Category = "loaders", Title = "Load IP-Adapter",
    Description = "Opens an IP-Adapter in the released .safetensors layout (ip_adapter.N.to_k_ip/to_v_ip with image_proj.proj/norm, e.g. ip-adapter_sd15 or ip-adapter_sdxl, or with a Resampler, image_proj.latents/proj_in/layers/proj_out: ip-adapter-plus_sd15, ip-adapter-plus-face_sd15, ip-adapter-plus_sdxl_vit-h), converted to ONNX once and then cached, or an ONNX graph giving ip_key_N/ip_value_N from image_embeds or penultimate_hidden_states. FaceID and full-face (MLP projections) are not supported.")]
public sealed class IpAdapterLoadNode : INode
{
    /// <summary>The adapter file.</summary>
    [Parameter(Description = "The IP-Adapter (.safetensors or .onnx), relative to the working folder (e.g. models/ipadapter/ip-adapter_sd15.safetensors).", Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The adapter.</summary>
    [Output(Description = "The IP-Adapter, for ipadapter.apply.")]
    public IIpAdapter? Adapter { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"path: IP-Adapter '{Path}' not found (looked at {path}).", path);
        }

        var graph = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            ? path
            : PreparedGraphCache.PrepareIpAdapter(path, PreparedGraphCache.RootOf("ipadapter"), () =>
                context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")),
                Conversions.Limits(context, cancellationToken));
        var model = IpAdapterModel.Open(ModelLibrary.Of(context).Sessions, new OnnxModelSource(graph, OnnxSessionOptions.Parse(Provider, "")));
        Adapter = new IpAdapterHandle(System.IO.Path.GetFileNameWithoutExtension(path), model);
        return Task.CompletedTask;
    }
}
