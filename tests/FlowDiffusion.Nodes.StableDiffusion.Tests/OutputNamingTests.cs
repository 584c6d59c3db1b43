namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.save numbers its files after the highest one already there and never overwrites any file; its prefix takes
/// ComfyUI-style placeholders (date, workflow name, workflow inputs).
/// </summary>
public sealed class OutputNamingTests
{
    private const string SaveYaml = """
        flowdiffusion: 1
        name: numbered
        nodes:
          noise: { node: latent.noise, with: { seed: 1, width: 64, height: 64, batch: 2 } }
          preview: { node: latent.preview, in: { latent: noise.noise } }
          save: { node: image.save, in: { images: preview.image }, with: { prefix: numbered } }
        """;

    [Fact]
    public async Task Numbers_continue_after_the_highest_existing_file_and_skip_names_taken_meanwhile()
    {
        using var engine = new SdEngine();
        var folder = engine.OutputDirectory;
        Directory.CreateDirectory(folder);
        string[] earlier = ["numbered_00001.png", "numbered_00007.png", "numbered_x.png", "numbered_00002.txt", "other_00050.png", "numbered_extra_00090.png"];
        foreach (var name in earlier) await File.WriteAllTextAsync(Path.Combine(folder, name), "earlier " + name);

        var first = (await engine.RunYamlAsync(SaveYaml, new Dictionary<string, object?>())).AssertCompleted();
        // Someone else takes the next name between two runs.
        await File.WriteAllTextAsync(Path.Combine(folder, "numbered_00010.png"), "earlier numbered_00010.png");
        var second = (await engine.RunYamlAsync(SaveYaml, new Dictionary<string, object?>())).AssertCompleted();

        Assert.Equal(["numbered_00008.png", "numbered_00009.png"], first.Result.OutputFiles.Select(Path.GetFileName));
        Assert.Equal(["numbered_00011.png", "numbered_00012.png"], second.Result.OutputFiles.Select(Path.GetFileName));
        foreach (var name in earlier.Append("numbered_00010.png"))
            Assert.Equal("earlier " + name, await File.ReadAllTextAsync(Path.Combine(folder, name)));
    }

    private const string PatternYaml = """
        flowdiffusion: 1
        name: named
        inputs:
          seed: { type: integer, default: 5 }
          prompt: { type: string, default: "a red/blue ball" }
        nodes:
          noise: { node: latent.noise, with: { seed: $seed, width: 64, height: 64 } }
          preview: { node: latent.preview, in: { latent: noise.noise } }
          save: { node: image.save, in: { images: preview.image }, with: { prefix: "%workflow%-%date:yyyyMMdd-hh%-%seed%-%prompt%" } }
        """;

    [Fact]
    public async Task Prefix_placeholders_name_files_by_workflow_date_and_inputs_and_unknown_ones_are_refused_by_name()
    {
        using var engine = new SdEngine();
        var before = DateTime.Now;
        var run = (await engine.RunYamlAsync(PatternYaml, new Dictionary<string, object?> { ["seed"] = 42L })).AssertCompleted();
        var after = DateTime.Now;

        // The slash in the prompt becomes '_'; the date is the run's (either side of an hour boundary).
        var name = Path.GetFileName(Assert.Single(run.Result.OutputFiles));
        var expected = new[] { before, after }.Select(t => $"named-{t:yyyyMMdd-HH}-42-a_red_blue_ball_00001.png").ToList();
        Assert.Contains(name, expected);

        var unknown = await engine.RunYamlAsync(PatternYaml.Replace("%seed%", "%sede%", StringComparison.Ordinal), new Dictionary<string, object?>());
        Assert.Equal("save", unknown.Result.FailedNode);
        Assert.Contains("%sede% names nothing", unknown.Result.Error);
        Assert.Contains("%seed%", unknown.Result.Error);
        Assert.Empty(unknown.Result.OutputFiles);
    }
}
