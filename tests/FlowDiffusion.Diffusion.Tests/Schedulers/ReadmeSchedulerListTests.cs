using System.Text;
using FlowDiffusion.Diffusion.Schedulers;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>
/// README's list of schedulers (and which take karras) is written from <see cref="SchedulerCatalog"/>, the one source of
/// the names: this test fails when the two differ, and with <c>FLOWDIFFUSION_UPDATE_DOCS=1</c> rewrites the section.
/// </summary>
public sealed class ReadmeSchedulerListTests
{
    private const string Start = "<!-- schedulers:";
    private const string End = "<!-- /schedulers -->";

    [Fact]
    public void Readme_scheduler_list_is_the_catalogs()
    {
        var path = Readme();
        var text = File.ReadAllText(path);
        var start = text.IndexOf(Start, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"{path} has no '{Start} …' … '{End}' section");
        var bodyStart = text.IndexOf('\n', start) + 1;
        var written = text[bodyStart..end];
        var expected = Section();
        if (written != expected && Environment.GetEnvironmentVariable("FLOWDIFFUSION_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, text[..bodyStart] + expected + text[end..]);
            return;
        }
        Assert.True(written == expected,
            $"README's scheduler list differs from SchedulerCatalog; run FLOWDIFFUSION_UPDATE_DOCS=1 dotnet test tests/FlowDiffusion.Diffusion.Tests --filter ReadmeSchedulerList\nREADME:\n{written}\ncatalog:\n{expected}");
    }

    [Fact]
    public void The_section_names_every_scheduler_and_only_the_karras_less_ones_as_exceptions()
    {
        var section = Section();
        Assert.All(SchedulerCatalog.Names, name => Assert.Contains(name, section.Replace('\n', ' ').Split('`')[1].Split(' ')));
        var exceptions = section.Replace('\n', ' ').Split('`')[3].Split(' ');
        Assert.Equal(SchedulerCatalog.Names.Where(n => !SchedulerCatalog.SupportsKarras(n)), exceptions);
        Assert.Contains("euler_a", exceptions);
        Assert.DoesNotContain("dpmpp_2m", exceptions);
    }

    // The sentence, wrapped at 120 columns as the README is.
    private static string Section()
    {
        var noKarras = SchedulerCatalog.Names.Where(n => !SchedulerCatalog.SupportsKarras(n)).ToList();
        var sentence = "Schedulers (diffusers-conformant, tested against diffusers' own scheduler tests): " +
            $"`{string.Join(' ', SchedulerCatalog.Names)}`, with timestep spacing and" +
            (noKarras.Count == 0
                ? ", for every one, `karras`."
                : $", except for `{string.Join(' ', noKarras)}` (which have no Karras sigmas in diffusers), `karras`.");
        var lines = new StringBuilder();
        var line = new StringBuilder();
        foreach (var word in sentence.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > 120)
            {
                lines.Append(line).Append('\n');
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        return lines.Append(line).Append('\n').ToString();
    }

    private static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return Path.Combine(dir.FullName, "README.md");
        }
        throw new FileNotFoundException("FlowDiffusion.sln not found above " + AppContext.BaseDirectory);
    }
}
