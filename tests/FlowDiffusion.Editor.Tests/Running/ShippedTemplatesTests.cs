using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>Every workflow the repository ships is a read-only template, so the editor's Save never overwrites one.</summary>
public sealed class ShippedTemplatesTests
{
    [Fact]
    public void Every_shipped_workflow_is_listed_as_a_template_and_every_listed_template_exists()
    {
        var files = new EditorFiles(Options.Create(new FlowDiffusionOptions { WorkflowsFolder = RepositoryRoot.Workflows }));
        var shipped = files.Workflows();

        Assert.NotEmpty(shipped);
        Assert.All(shipped, name => Assert.True(files.IsTemplate(name), $"workflows/{name}.yaml is not listed in workflows/{EditorFiles.TemplatesFile}"));
        var listed = File.ReadLines(Path.Combine(RepositoryRoot.Workflows, EditorFiles.TemplatesFile))
            .Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#'));
        Assert.All(listed, name => Assert.Contains(name, shipped));
        Assert.False(files.IsTemplate("my-own-workflow"));
    }
}
