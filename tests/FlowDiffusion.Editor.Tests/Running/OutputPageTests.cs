using FlowDiffusion.Editor.Running;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>The output browser's pages: newest first across runs, filtered by workflow and by day, paged without gaps or repeats.</summary>
public sealed class OutputPageTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    // Runs a..e, a day apart from Dec 4 backwards (listed out of order), two files each; b and d ran "sketch", a and c
    // "txt2img", e no saved workflow.
    private static List<OutputItem> Items() =>
    [
        .. new[] { ("c", 2, "txt2img"), ("a", 0, "txt2img"), ("e", 4, (string?)null), ("b", 1, "sketch"), ("d", 3, "sketch") }
            .SelectMany(r => new[] { new OutputItem(r.Item1, "x_00001.png", r.Item3, Noon.AddDays(-r.Item2)), new OutputItem(r.Item1, "x_00002.png", r.Item3, Noon.AddDays(-r.Item2)) }),
    ];

    [Fact]
    public void Pages_list_every_output_newest_first_without_gaps_or_repeats()
    {
        var pages = new[] { 0, 4, 8 }.Select(offset => OutputPage.Of(Items(), new OutputFilter(), offset, 4)).ToList();

        Assert.All(pages, p => Assert.Equal(10, p.Total));
        var listed = pages.SelectMany(p => p.Items).Select(i => $"{i.RunId}/{i.File}").ToList();
        Assert.Equal(["a/x_00001.png", "a/x_00002.png", "b/x_00001.png", "b/x_00002.png", "c/x_00001.png", "c/x_00002.png", "d/x_00001.png", "d/x_00002.png", "e/x_00001.png", "e/x_00002.png"], listed);
        Assert.Equal(["sketch", "txt2img"], pages[0].Workflows);
        // Past the end: the last page.
        var past = OutputPage.Of(Items(), new OutputFilter(), 40, 4);
        Assert.Equal((8, 2), (past.Offset, past.Items.Count));
    }

    [Fact]
    public void A_filter_by_workflow_and_days_keeps_only_what_matches_and_counts_only_that()
    {
        var sketch = OutputPage.Of(Items(), new OutputFilter("sketch"), 0, 10);
        Assert.Equal(["b", "b", "d", "d"], sketch.Items.Select(i => i.RunId));
        Assert.Equal(4, sketch.Total);

        var dayOf = (int back) => DateOnly.FromDateTime(Noon.AddDays(-back).ToLocalTime().DateTime);
        var days = OutputPage.Of(Items(), new OutputFilter(From: dayOf(3), To: dayOf(1)), 0, 10);
        Assert.Equal(["b", "b", "c", "c", "d", "d"], days.Items.Select(i => i.RunId));

        var both = OutputPage.Of(Items(), new OutputFilter("txt2img", From: dayOf(1)), 0, 10);
        Assert.Equal(["a", "a"], both.Items.Select(i => i.RunId));
        Assert.Empty(OutputPage.Of(Items(), new OutputFilter(From: dayOf(-1)), 0, 10).Items);
    }
}
