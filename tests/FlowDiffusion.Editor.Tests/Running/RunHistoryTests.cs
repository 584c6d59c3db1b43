using FlowDiffusion.Editor.Running;
using FlowDiffusion.Server.Runs;
using SkiaSharp;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// The history panel's data over the real run store: a finished run with its thumbnail, re-opening a run's graph with
/// its inputs, deleting a run with its files, and refusing to delete one still queued.
/// </summary>
public sealed class RunHistoryTests : IAsyncLifetime
{
    private readonly SessionHost _host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_finished_run_is_listed_with_a_thumbnail_of_its_image_and_deleting_it_removes_its_files()
    {
        var session = _host.Session;
        Assert.Empty(session.OpenSaved("txt2img"));
        foreach (var (input, value) in new (string, object)[] { ("model", "models/analytic-sd"), ("prompt", "a blue ball"), ("cfg", 1.0), ("steps", 2L), ("width", 192L), ("height", 128L), ("seed", 100L) })
            session.Document.SetInputDefault(input, value);
        Assert.True(await session.StartRunAsync(), session.Notice);
        await _host.Dispatcher.StartAsync(CancellationToken.None);
        await UntilAsync(() => session.Run!.Finished);

        var history = new RunHistory(_host.Backend);
        var (entries, total) = await history.LoadAsync();
        Assert.Equal(1, total);
        var entry = Assert.Single(entries);
        Assert.Equal(session.Run!.RunId, entry.RunId);
        Assert.Equal(RunState.Completed, entry.Status);
        Assert.Equal("txt2img", entry.Workflow);
        Assert.True(entry.Duration > TimeSpan.Zero);
        var output = Assert.Single(entry.Outputs);
        Assert.EndsWith(".png", output.File);

        // The thumbnail keeps the aspect ratio within 96 px and shows the same blue picture.
        using var thumbnail = SKBitmap.Decode(Convert.FromBase64String(output.Thumbnail!["data:image/png;base64,".Length..]));
        Assert.Equal((96, 64), (thumbnail.Width, thumbnail.Height));
        var blue = thumbnail.GetPixel(48, 32);
        Assert.True(blue.Blue > 200 && blue.Red < 60 && blue.Green < 60, blue.ToString());
        Assert.StartsWith("data:image/png;base64,", history.Full(entry.RunId, output.File));

        var file = _host.Backend.Outputs.Find(entry.RunId, output.File)!;
        Assert.True(File.Exists(file));
        Assert.True(await history.DeleteAsync(entry.RunId));
        Assert.False(File.Exists(file));
        Assert.Null(await history.GetAsync(entry.RunId));
        Assert.Empty((await history.LoadAsync()).Entries);
    }

    [Fact]
    public async Task A_runs_graph_reopens_with_the_inputs_it_was_queued_with_and_a_queued_run_cannot_be_deleted()
    {
        var yaml = await File.ReadAllTextAsync(_host.Session.Files.WorkflowFile("txt2img"));
        var (queued, _) = await _host.Backend.SubmitAsync(new RunSubmission(yaml, """{"seed": 7, "prompt": "a red cube"}""", "txt2img"), CancellationToken.None);
        var history = new RunHistory(_host.Backend);

        var entry = Assert.Single((await history.LoadAsync()).Entries);
        Assert.Equal(RunState.Queued, entry.Status);
        Assert.Null(entry.Duration);
        Assert.False(await history.DeleteAsync(queued.Id));

        var run = await history.GetAsync(queued.Id);
        Assert.DoesNotContain(_host.Session.OpenYaml(run!.Yaml, null, run.InputsJson), d => d.IsError);
        Assert.Equal(7L, _host.Session.Document.Workflow.Input("seed")!.Default);
        Assert.Equal("a red cube", _host.Session.Document.Workflow.Input("prompt")!.Default);
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The run did not finish in 120 s.");
            await Task.Delay(10);
        }
    }
}
