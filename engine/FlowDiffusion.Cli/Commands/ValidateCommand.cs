using System.CommandLine;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion validate FILE</c>: every problem at once; exit 0 when valid, 1 when not.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The workflow YAML file, or the name of a saved workflow (txt2img)." };
        var set = new Option<string[]>("--set", "-s") { Description = "Check with this workflow input set. Repeatable.", HelpName = "NAME=VALUE" };
        var command = new Command("validate", "Check a workflow without running it; prints file:line:col: node 'id': message for each problem.") { file, set };
        CommandAction.Set(command, (parse, _) =>
        {
            var values = SetValues.Parse(parse.GetValue(set) ?? []);
            using var host = CliHost.Build(parse);
            var result = host.Engine().Load(host.WorkflowFile(parse.GetValue(file)!), values);
            DiagnosticsPrinter.Print(result.Diagnostics, Console.Error);
            if (result.Plan is null) return Task.FromResult(ExitCodes.Failed);
            Console.WriteLine($"{parse.GetValue(file)}: valid ({result.Plan.Nodes.Count} nodes, {result.Diagnostics.Count(d => !d.IsError)} warnings)");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
