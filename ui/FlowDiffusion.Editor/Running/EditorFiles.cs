using System.Text.RegularExpressions;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Server;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Running;

/// <summary>The folders the editor reads and writes: saved workflows, model folders, input images.</summary>
public sealed partial class EditorFiles(IOptions<FlowDiffusionOptions> options, IOptions<ServerOptions>? server = null)
{
    private readonly FlowDiffusionOptions _options = options.Value;

    /// <summary>The folder runs resolve relative paths against (the installation's home), so pickers list paths runs find.</summary>
    public string WorkingFolder { get; } = Path.GetFullPath(server?.Value.WorkingFolder is { Length: > 0 } folder ? folder : Environment.CurrentDirectory);

    /// <summary>The saved workflows folder, absolute.</summary>
    public string WorkflowsFolder => Path.GetFullPath(_options.WorkflowsFolder);

    /// <summary>Names of the saved workflows (file names without .yaml).</summary>
    public IReadOnlyList<string> Workflows() => Directory.Exists(WorkflowsFolder)
        ? Directory.EnumerateFiles(WorkflowsFolder, "*.yaml").Select(f => Path.GetFileNameWithoutExtension(f)).Where(IsValidName).Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>The file listing the shipped templates in the workflows folder, one name a line.</summary>
    public const string TemplatesFile = "templates.txt";

    /// <summary>
    /// Whether <paramref name="name"/> is a shipped template (listed in the workflows folder's <see cref="TemplatesFile"/>):
    /// it opens like any workflow, but saving over it is refused, so an update never meets edited copies and the samples
    /// stay as documented.
    /// </summary>
    public bool IsTemplate(string name)
    {
        var list = Path.Combine(WorkflowsFolder, TemplatesFile);
        return File.Exists(list) && File.ReadLines(list).Any(line => line.Trim() == name);
    }

    /// <summary>The file of saved workflow <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">A name that is not a plain file name.</exception>
    public string WorkflowFile(string name) => IsValidName(name)
        ? Path.Combine(WorkflowsFolder, name + ".yaml")
        : throw new ArgumentException($"'{name}' is not a workflow name: use letters, digits, '-' and '_'.", nameof(name));

    /// <summary>
    /// What model.load opens — diffusers-ONNX folders, .safetensors checkpoints and diffusers folders in the models folder
    /// and its checkpoints/ (<see cref="FlowDiffusion.Checkpoints.Catalog.ModelCatalog.Loadable"/>, as <c>flowdiffusion models</c>
    /// lists them) — as paths relative to the working directory, as workflows write them.
    /// </summary>
    public IReadOnlyList<string> Models() => [.. ModelsWithArchitecture().Select(m => m.Path)];

    /// <summary>
    /// <see cref="Models"/> with the architecture each one's keys and shapes show (<c>SD 1.x (…)</c>, <c>SDXL (…)</c>, as
    /// <c>flowdiffusion models</c> prints it), for the model pickers.
    /// </summary>
    public IReadOnlyList<(string Path, string Architecture)> ModelsWithArchitecture()
    {
        var folder = Path.GetFullPath(_options.ModelsFolder);
        return FlowDiffusion.Checkpoints.Catalog.ModelCatalog.Loadable(folder)
            .Select(e => (Relative(Path.Combine(folder, e.Path)), e.Architecture)).OrderBy(m => m.Item1, StringComparer.Ordinal).ToList();
    }

    /// <summary>LoRA files (weight files: <c>.safetensors</c>, <c>.pt</c> … under the models folder's <c>loras/</c>), relative to the working directory, for LoRA pickers.</summary>
    public IReadOnlyList<string> Loras() => WeightFilesUnder("loras");

    /// <summary>Standalone VAE files (weight files: <c>.safetensors</c>, <c>.pt</c> … under the models folder's <c>vae/</c>), relative to the working directory, for VAE pickers.</summary>
    public IReadOnlyList<string> Vaes() => WeightFilesUnder("vae");

    /// <summary>
    /// The textual-inversion embeddings under the models folder's <c>embeddings/</c> by the names prompts give them
    /// (<c>embedding:NAME</c>: the file name without its extension, with its sub-folder if any).
    /// </summary>
    public IReadOnlyList<string> Embeddings()
    {
        var folder = Path.Combine(Path.GetFullPath(_options.ModelsFolder), "embeddings");
        return Files(folder).Select(f => Path.ChangeExtension(Path.GetRelativePath(folder, f), null).Replace('\\', '/')).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Image files under the workflows folder (sample inputs and uploads), relative to the working directory.</summary>
    public IReadOnlyList<string> Images() => Directory.Exists(WorkflowsFolder)
        ? Directory.EnumerateFiles(WorkflowsFolder, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
            .Select(Relative).Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>Saves an uploaded image under workflows/assets/uploads and returns its path for a parameter.</summary>
    public async Task<string> SaveUploadAsync(string fileName, Stream content, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(fileName);
        if (!UploadName().IsMatch(name)) throw new ArgumentException($"'{name}' is not a PNG or JPEG file name.", nameof(fileName));
        var folder = Path.Combine(WorkflowsFolder, "assets", "uploads");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, name);
        await using (var output = File.Create(file)) await content.CopyToAsync(output, cancellationToken);
        return Relative(file);
    }

    private IReadOnlyList<string> WeightFilesUnder(string sub) =>
        Files(Path.Combine(Path.GetFullPath(_options.ModelsFolder), sub)).Select(Relative).Order(StringComparer.Ordinal).ToList();

    // Names only (no file is opened), a bounded walk: the pickers render often.
    private static IEnumerable<string> Files(string folder) => Directory.Exists(folder)
        ? Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true })
            .Where(FlowDiffusion.Formats.Safetensors.WeightFiles.IsWeightFile).Take(1000)
        : [];

    /// <summary>Whether <paramref name="name"/> can name a saved workflow.</summary>
    public static bool IsValidName(string? name) => name is not null && WorkflowName().IsMatch(name);

    // The form the default-model pick writes, so a picked model and its picker option are one entry.
    private string Relative(string path) => FlowDiffusion.Checkpoints.Catalog.DefaultModel.PathFrom(WorkingFolder, path);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")]
    private static partial Regex WorkflowName();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}\.(png|jpe?g)$", RegexOptions.IgnoreCase)]
    private static partial Regex UploadName();
}
