using System.Collections.Concurrent;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The plugin's host-lifetime model state: one ONNX session cache and the model folders opened so far (by full path),
/// kept in the host's resource store so runs share sessions.
/// </summary>
internal sealed class ModelLibrary : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new(StringComparer.Ordinal);

    public OnnxSessionCache Sessions { get; } = new();

    public static ModelLibrary Of(INodeContext context) => context.Resources.GetOrAdd("models", () => new ModelLibrary());

    public LoadedModel Open(string path, OnnxSessionOptions options)
    {
        var full = Path.GetFullPath(path);
        var key = full + "|" + options.GetHashCode();
        var entry = _models.GetOrAdd(key, _ => new Lazy<LoadedModel>(() => new LoadedModel(ModelFolder.Open(full), Sessions, options)));
        try
        {
            return entry.Value;
        }
        catch
        {
            _models.TryRemove(key, out _);
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var model in _models.Values.Where(m => m.IsValueCreated)) model.Value.UNet.Dispose();
        Sessions.Dispose();
    }
}
