using System.CommandLine;
using FlowDiffusion.Comfy;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion import-comfy FILE</c>: a ComfyUI workflow (API or UI JSON, or a ComfyUI PNG) as FlowDiffusion YAML.</summary>
internal static class ImportComfyCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "A ComfyUI workflow: API-format JSON, the editor's saved JSON, or a PNG ComfyUI wrote." };
        var output = new Option<string?>("--out", "-o") { Description = "Write the YAML here instead of standard output.", HelpName = "FILE.yaml" };
        var command = new Command("import-comfy", "Convert a ComfyUI workflow into a FlowDiffusion workflow; lists every node it cannot convert.") { file, output };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
            if (new FileInfo(path).Length > ComfyWorkflowImport.MaxBytes) throw new UsageException($"{path}: larger than {ComfyWorkflowImport.MaxBytes} bytes");
            using var host = CliHost.Build(parse);
            var options = host.Services.GetRequiredService<IOptions<FlowDiffusionOptions>>().Value;
            var working = Environment.CurrentDirectory;
            var folders = new ComfyFolders(Path.GetFullPath(options.ModelsFolder, working), working,
                Path.Combine(Path.GetFullPath(options.DataFolder, working), ComfyServiceCollectionExtensions.InputFolderName));
            var name = Path.GetFileNameWithoutExtension(path);
            var (conversion, problems) = ComfyWorkflowImport.Import(await File.ReadAllBytesAsync(path, cancellationToken), name, folders);
            foreach (var problem in problems) await Console.Error.WriteLineAsync($"{path}: {problem}");
            if (conversion?.Workflow is not { } workflow || problems.Count > 0) return ExitCodes.Failed;
            foreach (var warning in conversion.Warnings) await Console.Error.WriteLineAsync($"{path}: warning: {warning}");
            var yaml = WorkflowYamlWriter.Write(workflow);
            if (parse.GetValue(output) is { } target)
            {
                await File.WriteAllTextAsync(target, yaml, cancellationToken);
                await Console.Error.WriteLineAsync($"{target}: {workflow.Nodes.Count} nodes from {conversion.ClassTypes.Count} ComfyUI nodes");
            }
            else
            {
                await Console.Out.WriteAsync(yaml);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
