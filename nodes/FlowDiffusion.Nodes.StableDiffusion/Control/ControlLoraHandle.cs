using System.Collections.Concurrent;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Control;

/// <summary>
/// A loaded Control-LoRA or diff ControlNet (<see cref="Checkpoints.ControlNet.ControlLoraFile"/>): its ControlNet is built, as ComfyUI builds it
/// when sampling starts, from the UNet it is applied to — that UNet's encoder weights with its patches (a LoRA, a merge),
/// the file's weights and its low-rank changes — converted once per UNet and cached on disk like a ControlNet, then kept
/// open here per UNet.
/// </summary>
internal sealed class ControlLoraHandle(string name, string path, OnnxSessionCache sessions, OnnxSessionOptions options) : IControlNet
{
    private readonly ConcurrentDictionary<string, Lazy<ControlNetModel>> _models = new(StringComparer.Ordinal);

    public string Name => name;

    /// <summary>The Control-LoRA file.</summary>
    public string Path => path;

    /// <summary>The ControlNet this Control-LoRA makes over <paramref name="unet"/>, converting it on first use.</summary>
    public ControlNetModel For(UNet unet, CancellationToken cancellationToken)
    {
        var identity = MergeSource.Of(unet).Identity;
        var model = _models.GetOrAdd(identity, _ => new Lazy<ControlNetModel>(() =>
        {
            var weights = unet.Weights.Select(w => (w.Name, w.Shape.ToArray())).ToArray();
            var graph = ControlNetCache.PrepareControlLora(path, identity, weights, weight => unet.ReadWeight(weight, cancellationToken).ToFloats(),
                ControlNetCache.DefaultRoot, limits: ConversionLimits.Default with { CancellationToken = cancellationToken });
            return ControlNetModel.Open(sessions, new OnnxModelSource(graph, options));
        }));
        try
        {
            return model.Value;
        }
        catch
        {
            // A failed or cancelled conversion is tried again next time.
            _models.TryRemove(new KeyValuePair<string, Lazy<ControlNetModel>>(identity, model));
            throw;
        }
    }

    public override string ToString() => name;
}
