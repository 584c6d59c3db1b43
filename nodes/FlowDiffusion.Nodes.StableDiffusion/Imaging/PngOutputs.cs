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

    /// <summary>Writes the images under <paramref name="prefix"/> (a plain file name, already expanded); returns the paths.</summary>
    public static async Task<string[]> WriteAsync(INodeContext context, Image images, string prefix, CancellationToken cancellationToken)
    {
        var text = Text(context);
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
