using System.Text.Json;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>Analytic model folders of every export flavour, written once per test class into a temp folder.</summary>
public sealed class AnalyticModels : IDisposable
{
    private readonly Dictionary<AnalyticVariant, string> _folders = [];
    private readonly object _gate = new();

    public AnalyticModels()
    {
        Root = Path.Combine(Path.GetTempPath(), "flowdiffusion-onnx-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    /// <summary>The temp folder holding every written model.</summary>
    public string Root { get; }

    /// <summary>The folder of <paramref name="variant"/>, written on first use.</summary>
    public string Folder(AnalyticVariant variant)
    {
        lock (_gate)
        {
            if (!_folders.TryGetValue(variant, out var folder))
            {
                folder = Path.Combine(Root, $"analytic-{_folders.Count}");
                ModelWriter.WriteAnalytic(folder, variant);
                _folders[variant] = folder;
            }
            return folder;
        }
    }

    /// <summary>The default analytic-sd folder.</summary>
    public string Default => Folder(AnalyticVariant.Default);

    /// <summary>The id of <paramref name="token"/> (e.g. <c>red&lt;/w&gt;</c>) in the analytic tokenizer vocabulary.</summary>
    public int TokenId(string token)
    {
        using var vocabulary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Default, "tokenizer", "vocab.json")));
        return vocabulary.RootElement.GetProperty(token).GetInt32();
    }

    /// <summary>A copy of the model folder <paramref name="source"/> under the temp folder, to damage or rewrite.</summary>
    public string CopyOf(string source, string name)
    {
        var target = Path.Combine(Root, "copy-" + name);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
        }
        return target;
    }

    /// <summary>A copy of one model file alone in a new folder, so its footprint is exactly its size.</summary>
    public string LoneCopy(string modelPath, string name)
    {
        var folder = Path.Combine(Root, "lone-" + name);
        Directory.CreateDirectory(folder);
        var copy = Path.Combine(folder, "model.onnx");
        File.Copy(modelPath, copy, overwrite: true);
        return copy;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A session still mapping a file must not fail the run; the temp folder is cleaned by the OS.
        }
    }
}
