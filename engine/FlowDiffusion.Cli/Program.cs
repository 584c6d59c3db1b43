using System.CommandLine;
using FlowDiffusion.Cli;
using FlowDiffusion.Cli.Commands;

var root = new RootCommand("FlowDiffusion: run, check and inspect node-graph diffusion workflows.\n\nExit codes: 0 ok, 1 invalid workflow or failed run, 2 usage error.");
root.Options.Add(GlobalOptions.Plugins);
root.Options.Add(GlobalOptions.Config);
root.Options.Add(GlobalOptions.Verbose);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(NodesCommand.Create());
root.Subcommands.Add(PluginsCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(ScheduleCommand.Create());
root.Subcommands.Add(NoiseCommand.Create());
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
root.Subcommands.Add(EditorCommand.Create());
root.Subcommands.Add(ImportComfyCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(ModelRunCommand.Create());
root.Subcommands.Add(BenchCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("Run 'flowdiffusion --help' for usage.");
    return ExitCodes.Usage;
}
try
{
    return await parse.InvokeAsync();
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.Usage;
}
