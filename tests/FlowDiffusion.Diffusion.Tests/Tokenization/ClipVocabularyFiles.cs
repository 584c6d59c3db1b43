using FlowDiffusion.Diffusion.Tokenization;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Tokenization;

/// <summary>
/// Finds the real CLIP vocabulary, which is not ours to ship: <c>../shared/oracles/clip</c> beside the folder holding
/// FlowDiffusion.sln, or the folder named by FLOWDIFFUSION_CLIP_ORACLES. Tests that need it skip when it is absent.
/// </summary>
internal static class ClipVocabularyFiles
{
    public const string OverrideVariable = "FLOWDIFFUSION_CLIP_ORACLES";

    private static readonly Lazy<ClipTokenizer?> Shared = new(() => Folder() is { } folder ? ClipTokenizer.FromFolder(folder) : null);

    public static string? Folder()
    {
        var overridden = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrEmpty(overridden))
            return HasVocabulary(overridden) ? overridden : null;
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FlowDiffusion.sln")))
            {
                var candidate = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "oracles", "clip"));
                return HasVocabulary(candidate) ? candidate : null;
            }
        }
        return null;
    }

    /// <summary>The real CLIP tokenizer, or a skip of the calling test when its files are absent.</summary>
    public static ClipTokenizer Tokenizer()
    {
        Skip.If(Shared.Value is null, $"The CLIP vocabulary is absent (../shared/oracles/clip or ${OverrideVariable}).");
        return Shared.Value!;
    }

    private static bool HasVocabulary(string folder) =>
        File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt"));
}
