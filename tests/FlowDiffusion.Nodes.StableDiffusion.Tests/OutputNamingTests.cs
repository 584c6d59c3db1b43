namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>image.save numbers its files after the highest one already there and never overwrites any file.</summary>
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
}
