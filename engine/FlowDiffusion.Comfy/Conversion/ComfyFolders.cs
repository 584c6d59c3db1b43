using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// Where ComfyUI's names resolve: checkpoints in <c>models/checkpoints</c> or <c>models/</c> (diffusers ONNX folders),
/// uploaded inputs in the layer's input folder. Every name stays inside its root.
/// </summary>
/// <param name="ModelsFolder">The engine's models folder (absolute).</param>
/// <param name="WorkingFolder">The folder workflow paths are relative to (absolute).</param>
/// <param name="InputFolder">Where uploads land and LoadImage looks (absolute).</param>
public sealed record ComfyFolders(string ModelsFolder, string WorkingFolder, string InputFolder)
{
    private static readonly string[] CheckpointExtensions = [.. WeightFiles.Extensions, ".onnx"];

    /// <summary>The loadable checkpoint names: diffusers ONNX folders under <c>models/checkpoints</c>, then <c>models/</c>, and the weight files (.safetensors, .ckpt, …) in <c>models/checkpoints</c>.</summary>
    public IReadOnlyList<string> Checkpoints()
    {
        var names = new List<string>();
        foreach (var root in new[] { Path.Combine(ModelsFolder, "checkpoints"), ModelsFolder })
        {
            if (!Directory.Exists(root)) continue;
            names.AddRange(Directory.EnumerateDirectories(root)
                .Where(d => File.Exists(Path.Combine(d, "model_index.json")))
                .Select(Path.GetFileName)
                .OfType<string>()
                .Order(StringComparer.Ordinal));
        }

        var checkpoints = Path.Combine(ModelsFolder, "checkpoints");
        if (Directory.Exists(checkpoints))
        {
            names.AddRange(Directory.EnumerateFiles(checkpoints).Where(WeightFiles.IsWeightFile).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal));
        }

        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The model.load path of checkpoint <paramref name="name"/> (relative to the working folder when inside it), or null.</summary>
    /// <param name="name">ComfyUI's <c>ckpt_name</c>: a folder name, with or without a checkpoint extension.</param>
    public string? ResolveCheckpoint(string name)
    {
        if (WeightFiles.IsWeightFile(name)
            && Inside(Path.Combine(ModelsFolder, "checkpoints"), name.Replace('\\', '/')) is { } file && File.Exists(file))
        {
            return Relative(file);
        }

        var bare = name.Replace('\\', '/').TrimEnd('/');
        foreach (var extension in CheckpointExtensions)
        {
            if (bare.EndsWith(extension, StringComparison.OrdinalIgnoreCase)) bare = bare[..^extension.Length];
        }

        foreach (var root in new[] { Path.Combine(ModelsFolder, "checkpoints"), ModelsFolder })
        {
            if (Inside(root, bare) is { } folder && File.Exists(Path.Combine(folder, "model_index.json"))) return Relative(folder);
        }

        return null;
    }

    /// <summary>
    /// DiffusersLoader's names: every folder under <c>models/diffusers</c> (at any depth) that holds a <c>model_index.json</c>,
    /// as its path relative to that folder, as ComfyUI walks it.
    /// </summary>
    public IReadOnlyList<string> Diffusers()
    {
        var root = Path.Combine(ModelsFolder, "diffusers");
        if (!Directory.Exists(root)) return [];
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 16 };
        return Directory.EnumerateFiles(root, "model_index.json", options)
            .Select(f => Path.GetRelativePath(root, Path.GetDirectoryName(f)!).Replace('\\', '/'))
            .Where(f => f != ".")
            .Order(StringComparer.Ordinal).Take(10000).ToList();
    }

    /// <summary>The model.load path of DiffusersLoader's <paramref name="name"/> (a folder under <c>models/diffusers</c> holding <c>model_index.json</c>), or null when absent or outside.</summary>
    /// <param name="name">ComfyUI's <c>model_path</c>, relative to the diffusers folder.</param>
    public string? ResolveDiffusers(string name) =>
        Inside(Path.Combine(ModelsFolder, "diffusers"), name.Replace('\\', '/').TrimEnd('/')) is { } folder && File.Exists(Path.Combine(folder, "model_index.json"))
            ? Relative(folder)
            : null;

    /// <summary>The path of file <paramref name="name"/> in ComfyUI's model folder <paramref name="folder"/> (e.g. loras, vae), relative to the working folder when inside it, or null when absent or outside.</summary>
    /// <param name="folder">The model folder's name under the models folder.</param>
    /// <param name="name">The file name ComfyUI gives (may hold subfolders).</param>
    public string? ResolveModelFile(string folder, string name)
    {
        var file = Inside(Path.Combine(ModelsFolder, folder), name.Replace('\\', '/'));
        return file is not null && File.Exists(file) ? Relative(file) : null;
    }

    /// <summary>The file of an uploaded input (LoadImage's <c>image</c>, "name" or "subfolder/name"), or null when absent or outside.</summary>
    /// <param name="name">The image name.</param>
    public string? ResolveInput(string name)
    {
        var file = Inside(InputFolder, name.Replace('\\', '/'));
        return file is not null && File.Exists(file) ? file : null;
    }

    /// <summary>ComfyUI's <c>--preview-method latent2rgb</c>: the linear approximation at latent size.</summary>
    public const string LinearPreviews = "latent2rgb";

    /// <summary>ComfyUI's <c>--preview-method taesd</c>: TAESD's decode, when <c>models/vae_approx</c> has the decoder.</summary>
    public const string TaesdPreviews = "taesd";

    /// <summary>ComfyUI's <c>--preview-method auto</c>: TAESD when its decoder is present, else the linear approximation.</summary>
    public const string AutoPreviews = "auto";

    /// <summary>How samplers' live previews are made: <see cref="LinearPreviews"/> (the default), <see cref="TaesdPreviews"/> or <see cref="AutoPreviews"/>.</summary>
    public string PreviewMethod { get; init; } = LinearPreviews;

    /// <summary>
    /// Where ComfyUI's "[output]" and "[temp]" annotated names resolve (LoadImageOutput; PreviewImage's files lie there
    /// too), or null where the host serves no outputs (then such names resolve nowhere).
    /// </summary>
    public string? OutputFolder { get; init; }

    /// <summary>
    /// A name as ComfyUI annotates it, split: "photo.png [output]" → ("photo.png", "output"); "input", "output" and
    /// "temp" are the annotations ComfyUI knows, and a name without one has none (null).
    /// </summary>
    /// <param name="name">The name, maybe annotated.</param>
    public static (string Name, string? Folder) Annotated(string name)
    {
        foreach (var folder in new[] { "input", "output", "temp" })
        {
            if (name.EndsWith($" [{folder}]", StringComparison.Ordinal)) return (name[..^(folder.Length + 3)], folder);
        }

        return (name, null);
    }

    /// <summary>
    /// The file of LoadImage's <c>image</c> as ComfyUI's annotated paths resolve it: "name" or "subfolder/name" in the input
    /// folder, or with " [input]", " [output]" or " [temp]" in that folder (outputs and previews both in <see cref="OutputFolder"/>);
    /// null when absent or outside its folder.
    /// </summary>
    /// <param name="name">The image name, maybe annotated.</param>
    public string? ResolveAnnotated(string name)
    {
        var (bare, folder) = Annotated(name);
        var root = folder is null or "input" ? InputFolder : OutputFolder;
        var file = root is null ? null : Inside(root, bare.Replace('\\', '/'));
        return file is not null && File.Exists(file) ? file : null;
    }

    /// <summary>A path under <paramref name="root"/> for a relative name, or null when it would leave the root.</summary>
    /// <param name="root">The root folder.</param>
    /// <param name="relative">A relative name with '/' separators.</param>
    public static string? Inside(string root, string relative)
    {
        if (string.IsNullOrWhiteSpace(relative) || relative.Contains('\0') || Path.IsPathRooted(relative)) return null;
        if (relative.Split('/').Any(part => part is ".." or "." or "")) return null;
        var full = Path.GetFullPath(Path.Combine(root, relative));
        var prefix = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return full.StartsWith(prefix, StringComparison.Ordinal) ? full : null;
    }

    private string Relative(string path)
    {
        var relative = Path.GetRelativePath(WorkingFolder, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative.Replace('\\', '/');
    }
}
