using FlowDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Nodes;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Writes each image of a batch as a numbered PNG in the run's output folder, carrying the workflow and the run's inputs,
/// and reports each file to the run (the editor shows it on the node, the API lists it): image.save and image.preview.
/// </summary>
internal static class PngOutputs
{
    /// <summary>The text chunks a saved PNG carries: the workflow's YAML and the run's inputs as JSON.</summary>
    public static Dictionary<string, string> Text(INodeContext context) => new()
    {
        [ImageSaveNode.WorkflowKeyword] = context.Workflow.Yaml,
        [ImageSaveNode.InputsKeyword] = InputsJson.Write(context.Workflow.Inputs),
    };

    /// <summary>
    /// The entries of a <c>metadata</c> parameter (<see cref="MetadataEntries"/>) with every key checked as a PNG text
    /// keyword, so a bad one fails before any file is written, naming the parameter.
    /// </summary>
    public static Dictionary<string, string> Metadata(string metadata)
    {
        var entries = MetadataEntries.Parse(metadata);
        if (entries.Keys.FirstOrDefault(k => !PngEncoder.IsTextKeyword(k)) is { } bad)
            throw new ArgumentException($"parameter 'metadata': key '{bad}' cannot name a PNG text chunk; use 1 to 79 Latin-1 characters, no control characters");
        return entries;
    }

    /// <summary>The <paramref name="metadata"/> entries, then <see cref="Text"/>'s (which win over entries of the same name).</summary>
    public static Dictionary<string, string> Text(INodeContext context, IReadOnlyDictionary<string, string> metadata)
    {
        var text = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        foreach (var (key, value) in Text(context)) text[key] = value;
        return text;
    }

    /// <summary>
    /// Writes the images under <paramref name="prefix"/> (a plain file name, already expanded), each with the text of
    /// <see cref="Text(INodeContext, IReadOnlyDictionary{string, string})"/>; returns the paths.
    /// </summary>
    public static async Task<string[]> WriteAsync(INodeContext context, Image images, string prefix, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken)
    {
        var text = Text(context, metadata);
        var files = new string[images.Batch];
        for (var i = 0; i < images.Batch; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var index = i;
            files[i] = NumberedFiles.Reserve(context.OutputDirectory, prefix, ".png");
            await WholeFile.WriteAsync(files[i], file => PngEncoder.Write(file, images, index, text), cancellationToken);
            context.ReportOutputFile(files[i]);
        }
        return files;
    }
}
