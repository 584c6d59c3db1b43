using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.T2IAdapter;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Nodes.StableDiffusion.Nodes;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// Opens a ControlNet or a T2I-Adapter, as ComfyUI's ControlNetLoader does both: a <c>.safetensors</c> file or diffusers folder
/// is told apart by its keys and converted once (cached), an ONNX graph by its inputs (<c>controlnet_cond</c> or <c>image</c>);
/// a Control-LoRA or a diff ControlNet is converted when it first meets a UNet (<see cref="ControlLoraHandle"/>).
/// </summary>
internal static class ControlModelLoader
{
    /// <summary>The kinds a loader accepts.</summary>
    public enum Kind
    {
        /// <summary>Either, by its contents.</summary>
        Any,

        /// <summary>Only a T2I-Adapter.</summary>
        T2IAdapter,
    }

    /// <summary>Loads <paramref name="path"/> (resolved) for the node's <paramref name="context"/>.</summary>
    public static IControlNet Load(INodeContext context, string path, string provider, Kind kind, CancellationToken cancellationToken)
    {
        var name = Path.GetFileNameWithoutExtension(path.TrimEnd(Path.DirectorySeparatorChar));
        var sessions = ModelLibrary.Of(context).Sessions;
        var options = OnnxSessionOptions.Parse(provider, "");
        void Converting() => context.ReportProgress(new NodeProgress(0, $"converting {Path.GetFileName(path)} to ONNX (first load only)"));
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (kind == Kind.T2IAdapter)
            {
                return new T2IAdapterHandle(name, T2IAdapterModel.Open(sessions, new OnnxModelSource(path, options)));
            }

            try
            {
                return new ControlNetHandle(name, ControlNetModel.Open(sessions, new OnnxModelSource(path, options)), ControlNetModel.PoolsGlobally(path));
            }
            catch (ModelMismatchException) when (TryAdapter(sessions, path, options) is { } adapter)
            {
                return new T2IAdapterHandle(name, adapter);
            }
        }

        if (kind == Kind.T2IAdapter || T2IAdapterCheckpoint.IsAdapter(path))
        {
            var graph = T2IAdapterCache.Prepare(path, T2IAdapterCache.DefaultRoot, Converting, Conversions.Limits(context, cancellationToken));
            return new T2IAdapterHandle(name, T2IAdapterModel.Open(sessions, new OnnxModelSource(graph, options)));
        }

        if (IsModelRelative(path))
        {
            return new ControlLoraHandle(name, path, sessions, options);
        }

        var controlnet = ControlNetCache.Prepare(path, ControlNetCache.DefaultRoot, Converting, Conversions.Limits(context, cancellationToken));
        return new ControlNetHandle(name, ControlNetModel.Open(sessions, new OnnxModelSource(controlnet, options)), ControlNetModel.PoolsGlobally(path));
    }

    private static bool IsModelRelative(string path)
    {
        if (Directory.Exists(path) || !path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        using var file = Formats.Safetensors.SafetensorsFile.Open(path);
        return ControlLoraFile.IsModelRelative([.. file.Tensors.Keys]);
    }

    private static T2IAdapterModel? TryAdapter(OnnxSessionCache sessions, string path, OnnxSessionOptions options)
    {
        try
        {
            return T2IAdapterModel.Open(sessions, new OnnxModelSource(path, options));
        }
        catch (ModelMismatchException)
        {
            return null;
        }
    }
}
