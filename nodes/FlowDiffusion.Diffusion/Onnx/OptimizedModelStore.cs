using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A folder of models as ONNX Runtime optimised them (<c>SessionOptions.OptimizedModelFilePath</c>), so the next start
/// skips the graph optimisation and layout transforms (30–45 s for an SD 1.5 UNet on 2 cores, issue 17). An entry is
/// keyed by the model files' identity (path, size and modification time of the <c>.onnx</c> and its external data),
/// ONNX Runtime's version, the session options, the entry's layout and the machine; when any of them changes the old entry
/// of that model is deleted and a new one written. An fp16 model run as float32 on the CPU (<see cref="OnnxSessionOptions.UpcastFloat16"/>)
/// has an entry of its own: the optimised upcast model, so a start from it neither upcasts nor optimises. An entry also holds the CPU kernels' pre-packed weights
/// (<c>session.save_external_prepacked_constant_initializers</c>), so a start from it maps them from the file instead of
/// packing every weight again.
/// </summary>
/// <remarks>
/// Sources with weight overrides are not stored: the optimiser renames and fuses initializers, so overrides must be
/// bound to the original graph. Layout: <c>ROOT/&lt;hash of model path&gt;/&lt;hash of the files' identity&gt;/&lt;hash of
/// the rest of the key&gt;/model.onnx</c> (+ <c>model.onnx.data</c>), each entry written into a temporary folder and moved
/// into place whole. Writing an entry deletes those of older versions of the model's files; entries for other options
/// stay, so processes using different options never delete each other's.
/// </remarks>
public sealed class OptimizedModelStore
{
    private const string ModelName = "model.onnx";
    private const string DataName = "model.onnx.data";

    // What an entry holds beyond ONNX Runtime's optimised graph; a change here must give entries a new key.
    private const string PrepackedLayout = "external-prepacked-1";

    // How fp16 models are upcast for the CPU; a change to Float32Upcast's output must give entries a new key.
    private const string UpcastLayout = "upcast-float32-1";

    /// <summary>Uses (and creates on demand) the folder <paramref name="root"/>.</summary>
    /// <param name="root">The cache folder.</param>
    public OptimizedModelStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The cache folder.</summary>
    public string Root { get; }

    /// <summary>The store named by the environment variable <c>FLOWDIFFUSION_ORT_CACHE</c> (a folder, or <c>off</c>), else a per-user cache folder.</summary>
    public static OptimizedModelStore? FromEnvironment()
    {
        var configured = Environment.GetEnvironmentVariable("FLOWDIFFUSION_ORT_CACHE");
        if (string.Equals(configured, "off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new OptimizedModelStore(configured);
        }
        var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(local) ? null : new OptimizedModelStore(Path.Combine(local, "flowdiffusion", "ort-optimized"));
    }

    /// <summary>The key of <paramref name="source"/>: every fact the optimised model depends on, one per line.</summary>
    public static string Key(OnnxModelSource source, OnnxModelFile file) => FilesKey(file) + SettingsKey(source, file);

    private static string FilesKey(OnnxModelFile file)
    {
        var key = new StringBuilder();
        foreach (var part in new[] { file.Path }.Concat(file.ExternalDataFiles))
        {
            var info = new FileInfo(part);
            var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            key.Append("file=").Append(part).Append(';').Append(target.Exists ? target.Length : -1).Append(';')
                .Append(target.Exists ? target.LastWriteTimeUtc.Ticks : 0).Append('\n');
        }
        return key.ToString();
    }

    private static string SettingsKey(OnnxModelSource source, OnnxModelFile file)
    {
        var key = new StringBuilder();
        key.Append("ort=").Append(OnnxEnvironment.Instance.GetVersionString()).Append('\n');
        key.Append("options=").Append(source.Options.Describe()).Append('\n');
        key.Append("layout=").Append(PrepackedLayout).Append('\n');
        if (Float32Upcast.Applies(source, file))
        {
            // The entry is the optimised float32 form of an fp16 model (Float32Upcast), not of the file as it is.
            key.Append("float16=").Append(UpcastLayout).Append('\n');
        }
        key.Append("machine=").Append(RuntimeInformation.ProcessArchitecture).Append(';').Append(CpuModel()).Append('\n');
        return key.ToString();
    }

    /// <summary>The stored optimised model of <paramref name="source"/>, or null when there is none for its current key.</summary>
    public string? Find(OnnxModelSource source, OnnxModelFile file)
    {
        var model = Path.Combine(EntryFolder(source, file), ModelName);
        return File.Exists(model) ? model : null;
    }

    /// <summary>
    /// Prepares <paramref name="options"/> to write the optimised model of <paramref name="source"/> while the session
    /// is created; call <see cref="Commit"/> with the returned folder once creation succeeded.
    /// </summary>
    public string Prepare(OnnxModelSource source, OnnxModelFile file, SessionOptions options)
    {
        var pending = EntryFolder(source, file) + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(pending);
        options.OptimizedModelFilePath = Path.Combine(pending, ModelName);
        // Large weights go to one external file so models over protobuf's 2 GB limit can be saved.
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", DataName);
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
        // The CPU kernels' pre-packed weights (MLAS's packed GEMM operands) go into that file too, so a start from the
        // entry maps them instead of packing every weight again (PrepackedLayout in the key).
        options.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1");
        return pending;
    }

    /// <summary>A fresh folder beside the entry of <paramref name="source"/> for its upcast model while the entry is written; the caller deletes it.</summary>
    public string UpcastFolder(OnnxModelSource source, OnnxModelFile file) =>
        EntryFolder(source, file) + ".upcast-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Moves a written entry into place and deletes entries of older versions of the model's files; a failure only loses the entry.</summary>
    public void Commit(OnnxModelSource source, OnnxModelFile file, string pending)
    {
        var target = EntryFolder(source, file);
        var versions = Path.GetDirectoryName(Path.GetDirectoryName(target)!)!;
        var version = Path.GetDirectoryName(target)!;
        try
        {
            if (!File.Exists(Path.Combine(pending, ModelName)))
            {
                Directory.Delete(pending, recursive: true);
                return;
            }
            Directory.CreateDirectory(version);
            if (Directory.Exists(target))
            {
                Abandon(pending);
            }
            else
            {
                Directory.Move(pending, target);
            }
            foreach (var stale in Directory.EnumerateDirectories(versions))
            {
                if (!string.Equals(stale, version, StringComparison.Ordinal))
                {
                    Directory.Delete(stale, recursive: true);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another process committed the same entry first, or holds a stale one open; the session itself is fine.
            Abandon(pending);
        }
    }

    /// <summary>Deletes a pending entry after a failed session creation, or a stored one ONNX Runtime could not load.</summary>
    public static void Abandon(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private string EntryFolder(OnnxModelSource source, OnnxModelFile file) =>
        Path.Combine(Root, Hash(source.ModelPath)[..16], Hash(FilesKey(file))[..16], Hash(SettingsKey(source, file))[..32]);

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string CpuModel()
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? string.Empty
                : string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
