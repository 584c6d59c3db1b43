using Bunit;
using FlowDiffusion.Editor.Components.Panels;
using FlowDiffusion.Editor.Running;

namespace FlowDiffusion.Editor.Tests.Components;

/// <summary>The run panel with runs of the tab queued behind the one shown: how many, which, and their cancel buttons.</summary>
public sealed class RunPanelQueueTests : BunitContext
{
    [Fact]
    public void The_panel_lists_the_queued_runs_and_cancels_one_or_all()
    {
        var cancelled = new List<string?>();
        var panel = Render<RunPanel>(p => p
            .Add(v => v.Run, new RunView("run-1", ["sample"]))
            .Add(v => v.Queued, [new RunView("run-2", ["sample"]), new RunView("run-3", ["sample"])])
            .Add(v => v.OnCancelQueued, (string? id) => cancelled.Add(id)));

        Assert.Equal("run-1", panel.Find(".fd-run-status").GetAttribute("data-run"));
        Assert.Equal("2", panel.Find(".fd-run-queue").GetAttribute("data-queued"));
        Assert.Contains("2 more queued", panel.Find(".fd-run-queue-head").TextContent);
        Assert.Equal(["run-2", "run-3"], panel.FindAll(".fd-run-queue li").Select(li => li.GetAttribute("data-run")));
        panel.Find(".fd-run-queue li[data-run=run-3] .fd-cancel-one").Click();
        panel.Find("#cancel-queued").Click();

        Assert.Equal(["run-3", null], cancelled);
    }

    [Fact]
    public void With_nothing_queued_the_panel_shows_no_queue()
    {
        var panel = Render<RunPanel>(p => p.Add(v => v.Run, new RunView("run-1", ["sample"])));

        Assert.Empty(panel.FindAll(".fd-run-queue"));
    }
}
