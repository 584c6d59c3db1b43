using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>Editing the graph: typed links as the engine accepts them, undo/redo, copy/paste/duplicate, delete.</summary>
public sealed class GraphDocumentTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    [Fact]
    public void Link_of_matching_type_is_made()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var model = document.AddNode("model.load", new(0, 0));
        var denoiser = document.AddNode("unet.denoiser", new(300, 0));

        var verdict = document.Connect(model, "unet", denoiser, "unet");

        Assert.True(verdict.Allowed, verdict.Reason);
        Assert.Equal(new GraphLink(model, "unet", denoiser, "unet"), Assert.Single(document.Links));
    }

    [Fact]
    public void Link_of_mismatched_type_is_refused_and_names_both_types()
    {
        var document = Txt2Img();
        var before = document.ToYaml();

        var verdict = document.Connect("model", "vae", "sample", "guider");

        Assert.False(verdict.Allowed);
        Assert.Contains("sample.guider takes", verdict.Reason);
        Assert.Equal(before, document.ToYaml());
        Assert.False(document.IsDirty);
    }

    [Fact]
    public void Compatibility_follows_the_engines_port_type_acceptance()
    {
        var document = Txt2Img();
        var outputs = document.Descriptor("model")!.Outputs;
        var input = document.Descriptor("decode")!.Input("vae")!;

        foreach (var output in outputs)
            Assert.Equal(input.Type.Accepts(output.Type), document.CanConnect("model", output.Name, "decode", "vae").Allowed);
    }

    [Fact]
    public void Link_that_would_make_a_cycle_is_refused()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog);
        var a = document.AddNode("diffusion.sample", new(0, 0));
        var decode = document.AddNode("vae.decode", new(300, 0));
        document.Connect(a, "latent", decode, "latent");
        var encode = document.AddNode("vae.encode", new(600, 0));
        document.Connect(decode, "image", encode, "image");

        var verdict = document.CanConnect(encode, "latent", a, "latent_image");

        Assert.False(verdict.Allowed);
        Assert.Contains("cycle", verdict.Reason);
    }

    [Fact]
    public void Dropping_on_a_connected_input_replaces_its_link()
    {
        var document = Txt2Img();
        document.AddNode("latent.noise", new(0, 900));

        Assert.True(document.Connect("noise_2", "noise", "sample", "noise").Allowed);

        Assert.Equal("noise_2", document.Workflow.Node("sample")!.Edge("noise")!.SourceNode);
        Assert.Single(document.Workflow.Node("sample")!.Inputs, e => e.Port == "noise");
    }

    [Fact]
    public void Undo_and_redo_walk_back_and_forth_through_edits()
    {
        var document = Txt2Img();
        var original = document.ToYaml();
        document.RemoveNodes(["guider"]);
        var removed = document.ToYaml();
        document.SetParameter("noise", "seed", new LiteralValue(7L));
        var edited = document.ToYaml();

        document.Undo();
        Assert.Equal(removed, document.ToYaml());
        document.Undo();
        Assert.Equal(original, document.ToYaml());
        Assert.False(document.CanUndo);
        Assert.Equal("guider", document.Workflow.Node("sample")!.Edge("guider")!.SourceNode);

        document.Redo();
        document.Redo();
        Assert.Equal(edited, document.ToYaml());
        Assert.False(document.CanRedo);
    }

    [Fact]
    public void A_new_edit_after_undo_clears_redo()
    {
        var document = Txt2Img();
        document.MoveNodes(new Dictionary<string, NodePosition> { ["model"] = new(0, 0) });
        document.Undo();

        document.SetInputDefault("prompt", "a blue ball");

        Assert.False(document.CanRedo);
        Assert.Equal("a blue ball", document.Workflow.Input("prompt")!.Default);
        Assert.True(document.IsDirty);
    }

    [Fact]
    public void Removing_a_node_removes_its_links()
    {
        var document = Txt2Img();

        document.RemoveNodes(["model"]);

        Assert.DoesNotContain(document.Links, l => l.FromNode == "model" || l.ToNode == "model");
        Assert.Null(document.Workflow.Node("model"));
        Assert.DoesNotContain(document.Workflow.Editor!.Positions, p => p.Key == "model");
    }

    [Fact]
    public void Paste_renames_taken_ids_keeps_links_among_copies_and_to_existing_sources()
    {
        var document = Txt2Img();
        var clip = document.Copy(["positive_tokens", "positive"]);

        var pasted = document.Paste(clip, 100, 50);

        Assert.Equal(["positive_tokens_2", "positive_2"], pasted);
        var copy = document.Workflow.Node("positive_2")!;
        Assert.Equal("positive_tokens_2", copy.Edge("tokens")!.SourceNode);
        // model.clip was outside the copy but exists here, so the pasted encoder stays wired to it.
        Assert.Equal("model", copy.Edge("clip")!.SourceNode);
        var from = document.PositionOf("positive");
        Assert.Equal(new NodePosition(from.X + 100, from.Y + 50), document.PositionOf("positive_2"));
        Assert.Equal(new InputReference("prompt"), document.Workflow.Node("positive_tokens_2")!.Parameter("text")!.Value);
    }

    [Fact]
    public void Paste_into_another_document_brings_the_inputs_its_parameters_are_bound_to_unless_that_name_is_there()
    {
        var source = Txt2Img();
        source.SetInputDefault("prompt", "a copied prompt");
        var clip = source.Copy(["positive_tokens", "positive", "noise"]);
        var other = GraphDocument.Empty(source.Catalog);
        other.AddNode("latent.noise", new(0, 0));
        other.ExposeParameter("noise", "seed");
        other.SetInputDefault("seed", 5L);

        var pasted = other.Paste(clip, 0, 0);

        Assert.Equal(["positive_tokens", "positive", "noise_2"], pasted);
        // The pasted tokenizer still feeds the pasted encoder; the model it read from is not in this document, so that link goes.
        Assert.Equal("positive_tokens", other.Workflow.Node("positive")!.Edge("tokens")!.SourceNode);
        Assert.Null(other.Workflow.Node("positive")!.Edge("clip"));
        // $prompt came along with the value it had; $seed was here already and keeps this document's default.
        Assert.Equal("a copied prompt", other.Workflow.Input("prompt")!.Default);
        Assert.Equal(source.Workflow.Input("prompt")!.Description, other.Workflow.Input("prompt")!.Description);
        Assert.Equal(5L, other.Workflow.Input("seed")!.Default);
        Assert.Single(other.Workflow.Inputs, i => i.Name == "seed");
        Assert.Equal(new InputReference("seed"), other.Workflow.Node("noise_2")!.Parameter("seed")!.Value);
        Assert.DoesNotContain(WorkflowValidator.Validate(other.Workflow, other.Catalog).Diagnostics, d => d.Message.Contains("prompt", StringComparison.Ordinal) && d.IsError);
        other.Undo();
        Assert.Null(other.Workflow.Input("prompt"));
    }

    [Fact]
    public void Duplicate_is_one_undo_step()
    {
        var document = Txt2Img();
        var before = document.ToYaml();

        var copies = document.Duplicate(["noise", "sample"]);
        Assert.Equal(2, copies.Count);
        document.Undo();

        Assert.Equal(before, document.ToYaml());
    }

    [Fact]
    public void Built_from_empty_graph_validates_and_saves_readable_yaml()
    {
        var document = GraphDocument.Empty(SdCatalog.Engine.Catalog, "built");
        var model = document.AddNode("model.load", new(0, 0));
        document.SetParameter(model, "path", new LiteralValue("models/analytic-sd"));
        var denoiser = document.AddNode("unet.denoiser", new(300, 0));
        document.Connect(model, "unet", denoiser, "unet");

        var check = SdCatalog.Engine.Parse(document.ToYaml(), "built.yaml");

        Assert.True(check.IsValid, string.Join("\n", check.Diagnostics));
        Assert.Contains("path: models/analytic-sd", document.ToYaml());
    }
}
