using System.Text.Json;

namespace FlowDiffusion.Checkpoints.Catalog;

/// <summary>
/// The model a workflow runs when nobody chose one: the user's own model once one is in the models folder, else the
/// workflow's written default. The rule: when the written default is one of the shipped test models, or a file that is
/// not there, the newest (last written) loadable model of the same family (SD 1.x, SD 2.x or SDXL) in the models folder and
/// its <c>checkpoints/</c> that is not a shipped test model, an inpainting or instruct-pix2pix UNet or an SDXL refiner wins; a written
/// default that exists and is the user's own is kept. Shipped test models are the folders named in
/// <c>models/manifest.json</c> and folders carrying their own <c>manifest.json</c> (<c>shapes-sd</c>), in the models folder
/// and in the folder the written default lies in.
/// </summary>
public static class DefaultModel
{
    /// <summary>The SD 1.x family's name in reasons and logs.</summary>
    public const string Sd1 = "SD 1.x";

    /// <summary>The SDXL family's name in reasons and logs.</summary>
    public const string Sdxl = "SDXL";

    /// <summary>
    /// The SD 2.x family's name in reasons and logs. A family of its own: an SD 1.x workflow's default is never replaced
    /// by an SD 2.x model (another text encoder, 768-pixel v-prediction models), nor the other way round.
    /// </summary>
    public const string Sd2 = "SD 2.x";

    /// <summary>
    /// The user's model that replaces <paramref name="writtenDefault"/> (a path relative to the models folder's parent,
    /// as workflows write it, e.g. <c>models/shapes-sd</c>), or <c>null</c> when the written default stands.
    /// </summary>
    /// <param name="modelsFolder">The models folder (absolute, or relative to the current folder).</param>
    /// <param name="writtenDefault">The workflow's default, resolved against <paramref name="home"/>.</param>
    /// <param name="home">The folder workflow paths are relative to.</param>
    public static DefaultModelPick? Pick(string modelsFolder, string writtenDefault, string home)
    {
        var models = Path.GetFullPath(modelsFolder);
        var written = Path.TrimEndingDirectorySeparator(Path.GetFullPath(writtenDefault, home));
        var shipped = ShippedTestModels(models, written);
        var writtenExists = Directory.Exists(written) || File.Exists(written);
        if (writtenExists && !shipped.Contains(written))
        {
            return null;
        }

        var family = writtenExists ? FamilyOf(written) : FamilyOfName(written);
        var candidates = ModelCatalog.Loadable(models)
            .Select(e => (Entry: e, Full: Path.GetFullPath(Path.Combine(models, e.Path))))
            .Where(c => !shipped.Contains(c.Full) && !c.Entry.Architecture.Contains("inpainting", StringComparison.Ordinal) && !c.Entry.Architecture.Contains("instruct-pix2pix", StringComparison.Ordinal)
                && !c.Entry.Architecture.Contains("refiner", StringComparison.Ordinal) && FamilyOf(c.Full, c.Entry) == family)
            .Select(c => (c.Entry, c.Full, Written: LastWritten(c.Full)))
            .OrderByDescending(c => c.Written).ThenBy(c => c.Entry.Path, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var best = candidates[0];
        var path = PathFrom(home, best.Full);
        var others = candidates.Count > 1 ? $" (newest of {candidates.Count})" : "";
        return new DefaultModelPick(path, family, NativeSize(best.Full, family),
            $"your own {family} model in {Path.GetFileName(models)}/{others}, instead of the workflow's default {writtenDefault}");
    }

    /// <summary>
    /// How a model path is written for a run and shown in the pickers: relative to <paramref name="home"/> (with '/') when
    /// the file lies inside it, else its full path.
    /// </summary>
    public static string PathFrom(string home, string path)
    {
        var relative = Path.GetRelativePath(home, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? Path.GetFullPath(path) : relative.Replace('\\', '/');
    }

    /// <summary>
    /// The family of a model file or folder: SDXL when its header or layout says so (conditioner keys, a second text
    /// encoder), SD 2.x when the catalog reads an SD 2.x checkpoint, else SD 1.x.
    /// </summary>
    public static string FamilyOf(string path, ModelEntry? entry = null)
    {
        if (Directory.Exists(path))
        {
            return Directory.Exists(Path.Combine(path, "text_encoder_2")) ? Sdxl : Sd1;
        }

        entry ??= ModelCatalog.Describe(path, Path.GetFileName(path));
        return entry?.Architecture.StartsWith(Sdxl, StringComparison.Ordinal) == true ? Sdxl
            : entry?.Architecture.StartsWith(Sd2, StringComparison.Ordinal) == true ? Sd2
            : Sd1;
    }

    // A default that is not there (sd_xl_base_1.0.safetensors, v2-1_768-ema-pruned.safetensors) is known only by its name.
    private static string FamilyOfName(string path)
    {
        var name = Path.GetFileName(path);
        return name.Contains("xl", StringComparison.OrdinalIgnoreCase) ? Sdxl
            : name.StartsWith("v2-", StringComparison.OrdinalIgnoreCase) || name.Contains("768-v", StringComparison.OrdinalIgnoreCase) || name.Contains("512-base", StringComparison.OrdinalIgnoreCase) ? Sd2
            : Sd1;
    }

    /// <summary>
    /// The size a model draws at natively: a folder's <c>unet/config.json</c> <c>sample_size</c> × 8, else 1024 for
    /// SDXL, 768 for an SD 2.x v-prediction file (768-v), and 512 for SD 1.x and SD 2.x's 512-base.
    /// </summary>
    public static int NativeSize(string path, string family)
    {
        var config = Path.Combine(path, "unet", "config.json");
        if (File.Exists(config))
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(config));
                if (document.RootElement.TryGetProperty("sample_size", out var size) && size.TryGetInt32(out var latent) && latent > 0)
                {
                    return latent * 8;
                }
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                // A config that cannot be read says nothing about size; the family's size stands.
            }
        }

        return family == Sdxl ? 1024
            : family == Sd2 && File.Exists(path) && CheckpointSampling.Of(path, "auto").PredictionType == "v_prediction" ? 768
            : 512;
    }

    /// <summary>
    /// Whether <paramref name="path"/> (resolved against <paramref name="home"/>) is one of the shipped test models,
    /// which a model of the user's own replaces as a default.
    /// </summary>
    public static bool IsShippedTestModel(string modelsFolder, string path, string home)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path, home));
        return ShippedTestModels(Path.GetFullPath(modelsFolder), full).Contains(full);
    }

    // The models folder's shipped test models, and those of the folder the default lies in (the installation's own
    // models folder when a configured one is elsewhere), which is judged by its own manifest.
    private static HashSet<string> ShippedTestModels(string models, string written)
    {
        var shipped = ShippedTestModels(models);
        if (Path.GetDirectoryName(written) is { } parent && parent != models)
        {
            shipped.UnionWith(ShippedTestModels(parent));
        }

        return shipped;
    }

    private static HashSet<string> ShippedTestModels(string models)
    {
        var shipped = new HashSet<string>(StringComparer.Ordinal);
        var manifest = Path.Combine(models, "manifest.json");
        try
        {
            if (File.Exists(manifest))
            {
                using var document = JsonDocument.Parse(File.ReadAllText(manifest));
                foreach (var file in document.RootElement.EnumerateObject())
                {
                    var slash = file.Name.IndexOf('/', StringComparison.Ordinal);
                    if (slash > 0)
                    {
                        shipped.Add(Path.Combine(models, file.Name[..slash]));
                    }
                }
            }

            if (Directory.Exists(models))
            {
                foreach (var folder in Directory.EnumerateDirectories(models).Where(d => File.Exists(Path.Combine(d, "manifest.json"))))
                {
                    shipped.Add(folder);
                }
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // An unreadable manifest names nothing; the models it would have named then count as the user's.
        }

        return shipped;
    }

    private static DateTime LastWritten(string path) =>
        Directory.Exists(path) ? Directory.GetLastWriteTimeUtc(path) : File.GetLastWriteTimeUtc(path);
}
