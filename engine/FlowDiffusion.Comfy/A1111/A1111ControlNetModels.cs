using System.Security.Cryptography;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The ControlNet files of models/controlnet as the sd-webui-controlnet extension names them: the file name without
/// extension and A1111's short model hash, <c>control_v11p_sd15_canny [d14c016b]</c>, sorted by file name.
/// </summary>
public static class A1111ControlNetModels
{
    private static readonly string[] Extensions = [".pt", ".pth", ".ckpt", ".safetensors", ".bin"];

    /// <summary>Whether the extension lists a file of this name as a model.</summary>
    public static bool IsModel(string file) =>
        Extensions.Contains(Path.GetExtension(file), StringComparer.Ordinal) && Path.GetFileNameWithoutExtension(file) != "None";

    /// <summary>The names <c>/controlnet/model_list</c> gives, one per model name (the first file of a name wins, as in the extension).</summary>
    public static IReadOnlyList<string> List(ComfyFolders folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in ObjectInfo.Files(folders, "controlnet").Where(IsModel).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!names.ContainsKey(name) && ComfyFolders.Inside(Path.Combine(folders.ModelsFolder, "controlnet"), file) is { } path) names[name] = $"{name} [{ShortHash(path)}]";
        }

        return [.. names.Values];
    }

    /// <summary>A1111's short model hash: the first 8 hex digits of the SHA-256 of the 64 KiB at offset 1 MiB (of nothing, for a smaller file).</summary>
    public static string ShortHash(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            var buffer = new byte[0x10000];
            file.Seek(Math.Min(0x100000, file.Length), SeekOrigin.Begin);
            var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, read)))[..8];
        }
        catch (IOException)
        {
            return "NOFILE";
        }
        catch (UnauthorizedAccessException)
        {
            return "NOFILE";
        }
    }
}
