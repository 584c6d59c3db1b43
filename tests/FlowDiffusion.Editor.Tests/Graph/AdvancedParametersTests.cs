using FlowDiffusion.Editor.Graph;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Tests.Graph;

/// <summary>
/// The split of a node's parameters into basic and advanced (guidance.cfg: the scale basic, its nineteen patch settings
/// advanced), which advanced values count as changed, and the per-node "shown" flag: an undoable edit saved in the
/// editor section that follows its node through delete, copy and paste.
/// </summary>
public sealed class AdvancedParametersTests
{
    private static GraphDocument Txt2Img() =>
        new(SdCatalog.Engine.Catalog, WorkflowRoundTripTests.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))));

    [Fact]
    public void Guidance_cfg_shows_its_scale_and_tucks_its_patch_settings_away()
    {
        var cfg = SdCatalog.Engine.Catalog.Find("guidance.cfg")!;

        Assert.Equal(["scale"], AdvancedParameters.Basic(cfg).Select(p => p.Name));
        Assert.Equal(["rescale", "apg", "apg_eta", "apg_norm_threshold", "apg_momentum", "zero_star", "cfg_norm", "cfg_norm_strength", "pag_scale", "sag_scale", "sag_blur_sigma",
            "tcfg", "latent_operation", "latent_operation_multiplier", "latent_operation_sharpen_radius", "latent_operation_sigma", "latent_operation_alpha",
            "mahiro", "epsilon_scaling"],
            AdvancedParameters.Of(cfg).Select(p => p.Name));
        // A new guidance.cfg is placed as drawn: header, four port rows, the scale and the closed toggle.
        Assert.Equal(NodeLayout.HeaderHeight + 4 * NodeLayout.RowHeight + 12 + NodeLayout.ParameterRowHeight + NodeLayout.AdvancedToggleHeight, NodeLayout.EstimatedHeight(cfg));
    }

    [Fact]
    public void An_advanced_value_is_changed_when_it_differs_from_its_default_or_is_bound_to_an_input()
    {
        var cfg = SdCatalog.Engine.Catalog.Find("guidance.cfg")!;
        var eta = cfg.Parameters.Single(p => p.Name == "apg_eta");

        Assert.False(AdvancedParameters.IsChanged(eta, null));
        Assert.False(AdvancedParameters.IsChanged(eta, new LiteralValue(1L)));   // an integer literal equal to the default 1.0
        Assert.False(AdvancedParameters.IsChanged(eta, new LiteralValue(1.0)));
        Assert.True(AdvancedParameters.IsChanged(eta, new LiteralValue(0.5)));
        Assert.True(AdvancedParameters.IsChanged(eta, new InputReference("eta")));
        var apg = cfg.Parameters.Single(p => p.Name == "apg");
        Assert.False(AdvancedParameters.IsChanged(apg, new LiteralValue(false)));
        Assert.True(AdvancedParameters.IsChanged(apg, new LiteralValue(true)));

        var document = Txt2Img();
        Assert.Empty(AdvancedParameters.Changed(cfg, document.Workflow.Node("guider")!));
        document.SetParameter("guider", "rescale", new LiteralValue(0.7));
        document.SetParameter("guider", "apg_eta", new LiteralValue(1.0));
        Assert.Equal(["rescale"], AdvancedParameters.Changed(cfg, document.Workflow.Node("guider")!).Select(p => p.Name));
    }

    [Fact]
    public void Shown_advanced_settings_are_an_undoable_edit_that_survives_save_and_goes_with_its_node()
    {
        var document = Txt2Img();
        Assert.False(document.ShowsAdvanced("guider"));

        document.SetAdvancedShown(["guider"], true);
        Assert.True(document.ShowsAdvanced("guider"));
        Assert.Contains("  advanced: [guider]\n", document.ToYaml());
        var reread = new GraphDocument(document.Catalog, WorkflowRoundTripTests.Read(document.ToYaml()));
        Assert.True(reread.ShowsAdvanced("guider"));
        Assert.False(reread.ShowsAdvanced("sample"));

        // Copy and paste bring the flag along under the pasted node's id.
        var pasted = Assert.Single(document.Duplicate(["guider"]));
        Assert.True(document.ShowsAdvanced(pasted));

        document.Undo();
        document.Undo();
        Assert.False(document.ShowsAdvanced("guider"));
        document.Redo();
        Assert.True(document.ShowsAdvanced("guider"));

        document.RemoveNodes(["guider"]);
        Assert.DoesNotContain("advanced:", document.ToYaml());
    }
}
