using System.Globalization;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Bounds on converting a checkpoint, VAE or ControlNet into cached ONNX graphs: a token that cancels it, the longest it
/// may take, and a free-space check before anything is written. A conversion that stops for any of them leaves no
/// cache entry behind (it writes into a staging folder renamed only when complete).
/// </summary>
public sealed record ConversionLimits
{
    /// <summary>The default longest conversion: 30 minutes (an SDXL checkpoint takes a few on a desktop CPU).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    /// <summary>Cancels the conversion (the run that asked for it was cancelled).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>The longest a conversion may take; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for no limit.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>The setting that sets <see cref="Timeout"/>, named when it is exceeded.</summary>
    public string TimeoutSetting { get; init; } = "FlowDiffusion:ConversionTimeoutSeconds";

    /// <summary>No cancellation, the default timeout.</summary>
    public static ConversionLimits Default { get; } = new();

    /// <summary>
    /// What the conversion writes, where the caller knows it better than <see cref="BytesWritten"/> does from the source
    /// (a Control-LoRA, whose ControlNet comes mostly from the UNet it is applied to); null: estimated from the source.
    /// </summary>
    public long? BytesNeeded { get; init; }

    /// <summary>
    /// Runs <paramref name="convert"/> for <paramref name="source"/>, writing into <paramref name="root"/>: refuses first
    /// when <paramref name="root"/> has less free space than the conversion writes, then cancels it when
    /// <see cref="CancellationToken"/> fires or <see cref="Timeout"/> passes.
    /// </summary>
    /// <exception cref="IOException">Not enough free space; the message names the folder and the bytes needed.</exception>
    /// <exception cref="TimeoutException">The conversion took longer than <see cref="Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException">The conversion was cancelled.</exception>
    internal void Run(string source, string root, Action<CancellationToken> convert)
    {
        CancellationToken.ThrowIfCancellationRequested();
        var needed = BytesNeeded ?? BytesWritten(source);
        var free = new DriveInfo(Path.GetFullPath(root)).AvailableFreeSpace;
        if (needed > free)
        {
            throw new IOException(
                $"not enough free disk space to convert '{source}': it writes about {Bytes(needed)} into '{root}', which has {Bytes(free)} free; " +
                $"free some space there or move the cache with {CheckpointCache.RootVariable}");
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        if (Timeout == TimeSpan.Zero)
        {
            // No time at all: cancelled before the first tensor (a timer might fire only after a short conversion ends).
            bounded.Cancel();
        }
        else if (Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            bounded.CancelAfter(Timeout);
        }

        try
        {
            convert(bounded.Token);
        }
        catch (OperationCanceledException) when (!CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"converting '{source}' took longer than {Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s ({TimeoutSetting}); nothing was cached");
        }
    }

    /// <summary>
    /// About what converting <paramref name="source"/> writes: every tensor of its weight files (<c>.safetensors</c> and a diffusers folder's <c>.bin</c>, or the PyTorch checkpoint it is) as float32
    /// (the conversion's weight type), plus 1 MiB for graphs and configs.
    /// </summary>
    public static long BytesWritten(string source)
    {
        var files = Directory.Exists(source)
            ? Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || DiffusersWeightFiles.IsOne(new FileInfo(f)))
            : [source];
        long elements = 0;
        foreach (var file in files)
        {
            // Opening reads the header (or a PyTorch checkpoint's pickle) and maps the file; no weight is read.
            using var opened = SafetensorsFile.Open(file);
            foreach (var tensor in opened.Tensors.Values)
            {
                elements = checked(elements + tensor.ElementCount);
            }
        }

        return checked((elements * 4) + (1 << 20));
    }

    private static string Bytes(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB"
        : (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
