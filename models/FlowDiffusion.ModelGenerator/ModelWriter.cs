using System.Security.Cryptography;
using FlowDiffusion.ModelGenerator.Analytic;
using FlowDiffusion.ModelGenerator.Files;
using FlowDiffusion.ModelGenerator.Tiny;

namespace FlowDiffusion.ModelGenerator;

/// <summary>
/// Writes the shipped test models (and test-only variants of them) in the diffusers ONNX layout. Every byte is a
/// function of the code alone: fixed ordering, no timestamps, weights from a seeded generator.
/// </summary>
public static class ModelWriter
{
    /// <summary>The name of the manifest file written next to the model folders.</summary>
    public const string ManifestName = "manifest.json";

    /// <summary>The shipped model folders by name.</summary>
    public static IReadOnlyList<string> ShippedModels { get; } = ["analytic-sd", "analytic-sd-inpaint", "tiny-sd"];

    /// <summary>Writes an analytic model (closed-form outputs) of the given variant into <paramref name="folder"/>.</summary>
    public static void WriteAnalytic(string folder, AnalyticVariant variant) => AnalyticModel.Build(variant).WriteTo(folder);

    /// <summary>Writes the random-weight tiny SD model into <paramref name="folder"/>.</summary>
    public static void WriteTiny(string folder, VaeEncoderOutput encoderOutput = VaeEncoderOutput.LatentParameters) =>
        TinyModel.Build(encoderOutput).WriteTo(folder);

    /// <summary>Writes every shipped model under <paramref name="root"/> plus <c>manifest.json</c> (SHA-256 per file).</summary>
    public static void WriteShipped(string root)
    {
        var manifest = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in ShippedModels)
        {
            var folder = Shipped(name);
            folder.WriteTo(Path.Combine(root, name));
            foreach (var (path, content) in folder.Files)
            {
                manifest[$"{name}/{path}"] = Convert.ToHexStringLower(SHA256.HashData(content));
            }
        }

        File.WriteAllBytes(Path.Combine(root, ManifestName), JsonText.Object(w =>
        {
            foreach (var (path, hash) in manifest)
            {
                w.WriteString(path, hash);
            }
        }));
    }

    private static ModelFolder Shipped(string name) => name switch
    {
        "analytic-sd" => AnalyticModel.Build(AnalyticVariant.Default),
        "analytic-sd-inpaint" => AnalyticModel.Build(AnalyticVariant.Inpaint),
        "tiny-sd" => TinyModel.Build(VaeEncoderOutput.LatentParameters),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a shipped model."),
    };
}
