using System.Text.Json;
using FlowDiffusion.Client;
using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>
/// An editor attached to a server reads the bus's wire form (the SSE stream); its run view must end where the in-process
/// one does for the same messages. And the catalog check names what a server lacks.
/// </summary>
public sealed class ServerRunViewTests
{
    private const string Id = "fedcba9876543210fedcba9876543210";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Nodes = ["model", "sample", "decode"];

    private static RunRecord Record(RunState state, string? error = null) =>
        new(Id, state, 0, T0, T0, state.IsFinal() ? T0.AddSeconds(3) : null, null, "yaml", "{}",
            state.IsFinal() ? "[{\"node\":\"model\",\"type\":\"t\",\"duration_ms\":0,\"cached\":true},{\"node\":\"sample\",\"type\":\"t\",\"duration_ms\":9,\"cached\":false}]" : null,
            state.IsFinal() ? "[\"out.png\"]" : null, error, null, 1);

    [Fact]
    public void The_wire_messages_of_a_run_leave_the_view_where_the_in_process_messages_do_at_every_step()
    {
        var bus = new RunEventBus();
        using var subscription = bus.Subscribe(Record(RunState.Queued));
        bus.Begin(Id, 1);
        bus.Log(Id, "attempt 1 on host|gpu-b|0 (model loaded)");
        bus.Publish(Id, new RunStarted(Id, T0, Nodes));
        bus.Publish(Id, new NodeCached(Id, T0, "model", "t"));
        bus.Publish(Id, new NodeStarted(Id, T0, "sample", "t"));
        bus.Publish(Id, new NodeProgressed(Id, T0, "sample", new NodeProgress(0.4, null, 4, 10)));
        bus.Publish(Id, new NodePreviewed(Id, T0, "sample", new Image(1, 4, 4, new float[48])));
        bus.Publish(Id, new NodeFinished(Id, T0, "sample", "t", TimeSpan.FromMilliseconds(9)));
        bus.Publish(Id, new NodeFailed(Id, T0, "decode", "t", "out of memory"));
        bus.End(Record(RunState.Failed, "decode: out of memory"));

        var local = new RunView(Id, Nodes);
        var remote = new RunView(Id, Nodes);
        var kinds = new List<string>();
        while (subscription.Reader.TryRead(out var message))
        {
            kinds.Add(message.Kind);
            local.Apply(message, _ => null);
            using var json = JsonDocument.Parse(message.Json);
            remote.Apply(new RunEventMessage(message.Kind, json.RootElement.Clone()));
            Assert.Equal(Shown(local), Shown(remote));
        }

        Assert.Equal(["run_state", "log", "run_started", "node_cached", "node_started", "progress", "preview", "node_finished", "node_failed", "run_ended"], kinds);
        Assert.Equal("failed", remote.Status);
        Assert.Equal("decode: out of memory", remote.Error);
        Assert.Equal((4, 10), (remote.Progress["sample"].Step, remote.Progress["sample"].Total));
        Assert.Equal(1, remote.PreviewCounts["sample"]);
        // The wire carries the claim's log line, which names the worker on a cluster.
        Assert.Equal("attempt 1 on host|gpu-b|0 (model loaded)", remote.LastLog);
    }

    [Fact]
    public void A_subscriber_joining_mid_run_gets_the_state_and_the_output_list_from_the_wire_as_in_process()
    {
        var bus = new RunEventBus();
        bus.Begin(Id, 1);
        bus.Publish(Id, new RunStarted(Id, T0, Nodes));
        bus.Publish(Id, new NodeStarted(Id, T0, "sample", "t"));
        bus.Publish(Id, new NodeProgressed(Id, T0, "sample", new NodeProgress(0.7, null, 7, 10)));
        bus.Publish(Id, new NodePreviewed(Id, T0, "sample", new Image(1, 4, 4, new float[48])));
        bus.Publish(Id, new OutputWritten(Id, T0, "save", "/x/out.png"));
        using var subscription = bus.Subscribe(Record(RunState.Running));
        Assert.True(subscription.Reader.TryRead(out var state));

        var local = new RunView(Id, Nodes);
        var remote = new RunView(Id, Nodes);
        local.Apply(state!, _ => null);
        using var json = JsonDocument.Parse(state!.Json);
        var message = new RunEventMessage(state.Kind, json.RootElement.Clone());
        remote.Apply(message);

        Assert.Equal(Shown(local), Shown(remote));
        var (node, output) = Assert.Single(RunView.OutputsOf(message));
        Assert.Equal(("save", "out.png", $"/api/outputs/{Id}/out.png"), (node, output.File, output.Url));
        // Added once, however often a reconnected stream names it.
        remote.AddImage(new GalleryImage("save", "out.png", "data:image/png;base64,AA=="));
        remote.AddImage(new GalleryImage("save", "out.png", "data:image/png;base64,AA=="));
        Assert.Single(remote.Images);
    }

    [Fact]
    public void The_catalog_check_names_node_types_the_server_lacks_and_versions_that_differ()
    {
        var catalog = SdCatalog.Engine.Catalog;
        var workflow = WorkflowYamlReader.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Workflows, "txt2img.yaml"))).Workflow!;
        var all = catalog.All.ToDictionary(n => n.Id, n => n.Version, StringComparer.Ordinal);
        Assert.Null(ServerCatalogCheck.Warning(workflow, catalog, all, "http://gpu:8188"));

        var lacking = new Dictionary<string, string>(all, StringComparer.Ordinal);
        lacking.Remove("vae.decode");
        lacking["diffusion.sample"] = "9.9.9";
        var warning = ServerCatalogCheck.Warning(workflow, catalog, lacking, "http://gpu:8188");

        Assert.Equal($"http://gpu:8188 lacks node type vae.decode: install the plugin there, or runs of this graph are refused. " +
                     $"Other versions on http://gpu:8188: diffusion.sample (editor {catalog.Find("diffusion.sample")!.Version}, server 9.9.9).", warning);
    }

    // What the page shows of a run view.
    private static string Shown(RunView view) => string.Join("|",
        view.Status, view.Error, Math.Round(view.Overall, 4).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        string.Join(",", view.States.OrderBy(s => s.Key).Select(s => $"{s.Key}={s.Value}")),
        string.Join(",", view.Progress.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value.Step}/{p.Value.Total}")),
        string.Join(",", view.Previews.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}")));
}
