using System.Text.Json.Nodes;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Cli.Tests.Workflows;

/// <summary>
/// The control and resolution workflows from the command line: <c>flowdiffusion run workflows/NAME.yaml --set …</c> for each
/// shipped workflow, its PNG checked as the API and editor tests check theirs (ControlWorkflows), and the preprocessors as
/// workflow files, checked against their input.
/// </summary>
public sealed class ControlWorkflowRunTests(ControlWorkflows workflows) : IClassFixture<ControlWorkflows>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-cli-control-").FullName;

    public static TheoryData<string> Workflows() => new(ControlWorkflows.Names);

    public static TheoryData<string> Preprocessors() => new(ControlWorkflows.Preprocessors.Select(p => p.Node));

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Theory]
    [MemberData(nameof(Workflows))]
    public void A_shipped_workflow_runs_from_the_command_line_with_its_inputs_set_and_writes_the_expected_picture(string workflow)
    {
        var run = workflows[workflow];
        var files = Run([$"workflows/{workflow}.yaml", .. run.SetArguments()]);

        run.Verify(Picture.Decode(File.ReadAllBytes(Assert.Single(files))));
    }

    [Theory]
    [MemberData(nameof(Preprocessors))]
    public void A_preprocessor_workflow_file_runs_from_the_command_line_with_its_closed_form_result(string node)
    {
        var preprocessor = ControlWorkflows.Preprocessors.Single(p => p.Node == node);
        var file = Path.Combine(_scratch, "preprocess.yaml");
        File.WriteAllText(file, preprocessor.Yaml("workflows/assets/landscape.png"));

        var files = Run([file]);

        var source = Picture.Decode(File.ReadAllBytes(files.Single(f => Path.GetFileName(f).StartsWith("source", StringComparison.Ordinal))));
        var result = Picture.Decode(File.ReadAllBytes(files.Single(f => Path.GetFileName(f).StartsWith("result", StringComparison.Ordinal))));
        Assert.Equal((64, 64), (result.Width, result.Height));
        preprocessor.Check(source, result);
    }

    // Converted checkpoints go to this test's own cache, deleted with it.
    private List<string> Run(string[] arguments)
    {
        var environment = new Dictionary<string, string> { ["FLOWDIFFUSION_CACHE"] = Path.Combine(_scratch, "cache") };
        var (code, stdout, stderr) = Cli.RunWith(environment, ["run", .. arguments, "--out", Path.Combine(_scratch, "out"), "--json"]);
        Assert.True(code == 0, stderr);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("completed", result["status"]!.GetValue<string>());
        return [.. result["outputs"]!.AsArray().Select(o => o!.GetValue<string>())];
    }
}
