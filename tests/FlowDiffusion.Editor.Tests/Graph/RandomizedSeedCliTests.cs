using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Editor.Tests.Browser;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>A workflow saved with a randomized seed is still a plain workflow to the CLI: it validates and runs with the saved seed.</summary>
public sealed class RandomizedSeedCliTests
{
    [SkippableFact]
    public async Task Saved_file_with_a_randomized_seed_validates_and_runs_in_the_cli()
    {
        Skip.If(Cli.Assembly is null, "The CLI is not built (build the solution).");
        using var folder = new TempFolder();
        var document = new GraphDocument(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));
        document.SetSeedControl("seed", SeedControl.Randomize);
        var seed = document.RerollSeeds(new Random(11))["seed"];
        var file = Path.Combine(folder.Path, "randomized.yaml");
        File.WriteAllText(file, document.ToYaml());

        var validate = await Cli.RunAsync("validate", file);
        var run = await Cli.RunAsync("run", file, "--set", "model=models/analytic-sd", "--set", "steps=2", "--set", "width=64", "--set", "height=64",
            "--out", Path.Combine(folder.Path, "out"), "--json");

        Assert.True(validate.ExitCode == 0, validate.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("\"status\": \"completed\"", run.Output);
        Assert.Contains($"default: {seed}", File.ReadAllText(file));
    }
}
