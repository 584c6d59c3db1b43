using System.Collections.Concurrent;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk;
using Microsoft.Extensions.Logging;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The plugin's host-lifetime model state: one ONNX session cache and the model folders opened so far (by full path),
/// kept in the host's resource store so runs share sessions.
/// </summary>
internal sealed class ModelLibrary : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OnnxVae> _vaes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OnnxUNetModel> _unets = new(StringComparer.Ordinal);

    private ModelLibrary(ILogger logger)
    {
        Sessions.Loaded += (_, e) => logger.LogInformation("Loaded {Model} ({Megabytes:F1} MB) in {Milliseconds:F0} ms", e.ModelPath, e.Bytes / 1048576.0, e.Elapsed.TotalMilliseconds);
        Sessions.Unloaded += (_, e) => logger.LogInformation("Unloaded {Model} ({Megabytes:F1} MB) to stay within the session memory budget", e.ModelPath, e.Bytes / 1048576.0);
    }

    public OnnxSessionCache Sessions { get; } = new(OnnxSessionCache.DefaultBudgetBytes, OptimizedModelStore.FromEnvironment());

    public static ModelLibrary Of(INodeContext context) => context.Resources.GetOrAdd("models", () => new ModelLibrary(context.Logger));

    /// <summary>
    /// Opens a model folder and loads the sessions a txt2img run needs now — text encoder, UNet and VAE decoder, in
    /// parallel — reporting each load as progress, so loading shows at model.load rather than as a pause inside the
    /// first encode or sampling step. Cached sessions cost nothing.
    /// </summary>
    /// <param name="path">The model folder.</param>
    /// <param name="options">Session options.</param>
    /// <param name="context">For progress.</param>
    /// <param name="cancellationToken">Cancels the loading.</param>
    /// <param name="tokenizer">A CLIP tokenizer folder for a model folder without one (OnnxStack's layout); null: the folder's own.</param>
    public async Task<LoadedModel> OpenWarmAsync(string path, OnnxSessionOptions options, INodeContext context, CancellationToken cancellationToken, string? tokenizer = null)
    {
        void Report(object? sender, OnnxSessionEvent e) =>
            context.ReportProgress(new NodeProgress(0, $"loaded {Path.GetFileName(Path.GetDirectoryName(e.ModelPath))} ({e.Bytes / 1048576.0:F1} MB) in {e.Elapsed.TotalMilliseconds:F0} ms{(e.FromOptimizedModel ? " (optimised model from cache)" : string.Empty)}"));
        Sessions.Loaded += Report;
        try
        {
            var folder = ModelFolder.Open(Path.GetFullPath(path));
            var components = new[] { folder.TextEncoderPath, folder.TextEncoder2Path, folder.UNetPath, folder.VaeDecoderPath }.OfType<string>().ToArray();
            // Loading every session up front pays only while they fit the budget together. Beyond it (SDXL's float32
            // weights are 14 GB) they would all be resident at once and then unloaded again; so each loads when first
            // used instead, and the budget unloads the text encoders before the UNet loads.
            if (components.Sum(c => OnnxModelFile.Read(c).WeightsBytes) > Sessions.BudgetBytes)
            {
                return Open(path, options, tokenizer);
            }

            // Session creation is mostly single-threaded graph optimisation, so the three overlap well even on 2 cores.
            await Task.WhenAll(components.Select(component => Task.Run(
                () =>
                {
                    using var lease = Sessions.Acquire(component, options);
                },
                cancellationToken))).ConfigureAwait(false);
            return Open(path, options, tokenizer);
        }
        finally
        {
            Sessions.Loaded -= Report;
        }
    }

    public LoadedModel Open(string path, OnnxSessionOptions options, string? tokenizer = null)
    {
        var full = Path.GetFullPath(path);
        var key = full + "|" + options.Describe() + "|" + tokenizer;
        var entry = _models.GetOrAdd(key, _ => new Lazy<LoadedModel>(() =>
        {
            var folder = ModelFolder.Open(full);
            return new LoadedModel(tokenizer is null ? folder : folder with { TokenizerPath = tokenizer }, Sessions, options);
        }));
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

    /// <summary>A standalone VAE folder's two halves (sessions open on first use), one per folder and options.</summary>
    public OnnxVae OpenVae(VaeFiles files, OnnxSessionOptions options) =>
        _vaes.GetOrAdd(files.DecoderPath + "|" + files.EncoderPath + "|" + files.ScalingFactor.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "|" + options.Describe(), _ => new OnnxVae(files, Sessions, options));

    /// <summary>A standalone UNet graph (its session opens on first use), one per file, sample size and options.</summary>
    public OnnxUNetModel OpenUNet(string name, string modelPath, int? sampleSize, OnnxSessionOptions options) =>
        _unets.GetOrAdd(modelPath + "|" + sampleSize + "|" + options.Describe(), _ => new OnnxUNetModel(name, UNet.Open(Sessions, modelPath, options), sampleSize, Sessions));

    public void Dispose()
    {
        foreach (var unet in _unets.Values)
        {
            unet.Dispose();
        }
        foreach (var vae in _vaes.Values)
        {
            vae.Dispose();
        }
        foreach (var model in _models.Values.Where(m => m.IsValueCreated))
        {
            model.Value.UNet.Dispose();
            model.Value.Vae.Dispose();
        }
        Sessions.Dispose();
    }
}
