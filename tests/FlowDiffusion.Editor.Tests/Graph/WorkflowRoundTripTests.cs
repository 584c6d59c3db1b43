using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>Open in the editor, save: the file means the same to the engine, and is byte-identical when it already had a full layout.</summary>
public sealed class WorkflowRoundTripTests
{
    public static TheoryData<string> Workflows()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepositoryRoot.Workflows, "*.yaml").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Workflows))]
    public void Saved_workflow_means_what_the_file_meant(string file)
    {
        var original = Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, file)));
        var document = new GraphDocument(SdCatalog.Engine.Catalog, original);

        var saved = Read(document.ToYaml());

        Assert.Equal(Strip(original with { Editor = null }), Strip(saved with { Editor = null }));
        Assert.Equal(original.Nodes.Select(n => n.Id).Order(StringComparer.Ordinal), saved.Editor!.Positions.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Workflows))]
    public void Saved_workflow_validates_with_the_engine_as_the_original_does(string file)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, file));
        var document = new GraphDocument(SdCatalog.Engine.Catalog, Read(text));

        var before = SdCatalog.Engine.Parse(text, file);
        var after = SdCatalog.Engine.Parse(document.ToYaml(), file);

        Assert.True(before.IsValid, string.Join("\n", before.Diagnostics));
        Assert.True(after.IsValid, string.Join("\n", after.Diagnostics));
        Assert.Equal(before.Plan!.Nodes.Select(n => n.Id), after.Plan!.Nodes.Select(n => n.Id));
    }

    [SkippableTheory]
    [MemberData(nameof(Workflows))]
    public void Workflow_with_a_full_layout_saves_byte_identical_to_the_engine_writer(string file)
    {
        var original = Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, file)));
        Skip.IfNot(original.Editor is { } layout && layout.Positions.Count == original.Nodes.Count, $"{file} has no full layout; the editor adds one");

        var document = new GraphDocument(SdCatalog.Engine.Catalog, original);

        Assert.Equal(WorkflowYamlWriter.Write(original), document.ToYaml());
    }

    [Fact]
    public void Nodes_without_positions_are_laid_out_in_dependency_columns()
    {
        var workflow = Read("""
            flowdiffusion: 1
            name: t
            nodes:
              model: { node: model.load, with: { path: models/tiny-sd } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
            """);

        var document = new GraphDocument(SdCatalog.Engine.Catalog, workflow);

        Assert.Equal(new NodePosition(40, 40), document.PositionOf("model"));
        Assert.Equal(new NodePosition(40 + AutoLayout.ColumnWidth, 40), document.PositionOf("denoiser"));
    }

    internal static Workflow Read(string yaml)
    {
        var read = WorkflowYamlReader.Read(yaml);
        Assert.False(read.HasErrors, string.Join("\n", read.Diagnostics));
        return read.Workflow!;
    }

    // Source locations say where text was, not what it means; lists compare by content.
    private static string Strip(Workflow workflow) => WorkflowYamlWriter.Write(workflow with { SourceFile = null });
}
