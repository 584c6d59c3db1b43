using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary>run / validate / nodes as users call them: exit codes, messages, JSON, files.</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fd-cli-").FullName;

    private static string TestPlugins => Path.Combine(Cli.RepoRoot, "artifacts", "test-plugins");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Run_json_reports_status_and_written_files()
    {
        var file = Write("sum.yaml", """
            flowdiffusion: 1
            name: sum
            inputs:
              x: { type: float, default: 2 }
            nodes:
              a: { node: test.number, with: { value: $x } }
              b: { node: test.number, with: { value: 3 } }
              s: { node: test.add, in: { a: a.result, b: b.result } }
              out: { node: test.sink, in: { value: s.sum } }
            """);
        var (exit, stdout, stderr) = Cli.Run("run", file, "--plugins", TestPlugins, "--set", "x=4.5", "--out", _folder, "--json");
        Assert.True(exit == 0, stderr);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("completed", result["status"]!.GetValue<string>());
        var written = Assert.Single(result["outputs"]!.AsArray())!.GetValue<string>();
        Assert.Equal("7.5", File.ReadAllText(written));
        Assert.Equal(4, result["nodes"]!.AsArray().Count);
        // The timing keys of the API's run record and events (docs/events.md), from the same writer.
        Assert.Equal(["cached", "duration_ms", "node", "type"], result["nodes"]![0]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Run_events_prints_the_event_stream_schema_as_json_lines_from_state_to_run_ended()
    {
        var file = Write("sum-events.yaml", """
            flowdiffusion: 1
            name: sum
            nodes:
              a: { node: test.number, with: { value: 4 } }
              b: { node: test.number, with: { value: 3 } }
              s: { node: test.add, in: { a: a.result, b: b.result } }
              out: { node: test.sink, in: { value: s.sum } }
            """);
        var (exit, stdout, stderr) = Cli.Run("run", file, "--plugins", TestPlugins, "--out", _folder, "--events");
        Assert.True(exit == 0, stderr);
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

        Assert.All(events, e => Assert.Equal(1, e["v"]!.GetValue<int>()));
        Assert.Equal("run_state", events[0]["kind"]!.GetValue<string>());
        Assert.Equal("run_started", events[1]["kind"]!.GetValue<string>());
        var ended = events[^1];
        Assert.Equal(("run_ended", "completed"), (ended["kind"]!.GetValue<string>(), ended["status"]!.GetValue<string>()));
        Assert.Equal(4, events.Count(e => e["kind"]!.GetValue<string>() is "node_finished" or "node_cached"));
        Assert.Equal(["a", "b", "out", "s"], ended["nodes"]!.AsArray().Select(n => n!["node"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        var overall = events.Skip(1).SkipLast(1).Select(e => e["overall"]!.GetValue<double>()).ToList();
        Assert.Equal(overall.Order(), overall);
        Assert.Equal(1.0, overall[^1]);
        Assert.Equal("7", File.ReadAllText(Path.Combine(_folder, ended["outputs"]![0]!["file"]!.GetValue<string>())));
    }

    [Fact]
    public void Run_goes_through_the_run_backend_queue_with_its_targets_and_leaves_no_run_store_behind()
    {
        var file = Write("sum-targets.yaml", """
            flowdiffusion: 1
            name: sum
            nodes:
              a: { node: test.number, with: { value: 4 } }
              b: { node: test.number, with: { value: 3 } }
              s: { node: test.add, in: { a: a.result, b: b.result } }
              out: { node: test.sink, in: { value: s.sum } }
              other: { node: test.sink, in: { value: a.result }, with: { prefix: other } }
            """);
        var temp = Directory.CreateDirectory(Path.Combine(_folder, "tmp")).FullName;
        var (exit, stdout, stderr) = Cli.RunWith(new Dictionary<string, string> { ["TMPDIR"] = temp },
            "run", file, "--plugins", TestPlugins, "--out", _folder, "--events", "--target", "out");
        Assert.True(exit == 0, stderr);
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

        // Submitted to the queue, watched from there: the stream starts with the queued run, then attempt 1 claims it.
        Assert.Equal(("run_state", "queued", 0), (events[0]["kind"]!.GetValue<string>(), events[0]["status"]!.GetValue<string>(), events[0]["attempt"]!.GetValue<int>()));
        var ended = events[^1];
        Assert.Equal(("run_ended", "completed", 1), (ended["kind"]!.GetValue<string>(), ended["status"]!.GetValue<string>(), ended["attempts"]!.GetValue<int>()));
        Assert.Matches("^[0-9a-f]{32}$", ended["run_id"]!.GetValue<string>());
        // The target travelled with the submission: 'other' never ran, only what 'out' needs did.
        Assert.Equal(["a", "b", "out", "s"], ended["nodes"]!.AsArray().Select(n => n!["node"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("7", File.ReadAllText(Path.Combine(_folder, "value-out.txt")));
        Assert.False(File.Exists(Path.Combine(_folder, "other-other.txt")));
        // The run store was private to this invocation and is gone.
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp));
    }

    [Fact]
    public void A_run_store_left_by_a_killed_cli_is_removed_by_the_next_run_and_one_in_use_is_kept()
    {
        var file = Write("sum-sweep.yaml", """
            flowdiffusion: 1
            name: sum
            nodes:
              a: { node: test.number, with: { value: 2 } }
              out: { node: test.sink, in: { value: a.result } }
            """);
        var temp = Directory.CreateDirectory(Path.Combine(_folder, "tmp")).FullName;
        var abandoned = Directory.CreateDirectory(Path.Combine(temp, "flowdiffusion-run-abandoned"));
        File.WriteAllText(Path.Combine(abandoned.FullName, "runs.db"), "");
        File.WriteAllText(Path.Combine(abandoned.FullName, "in-use.lock"), "");
        abandoned.LastWriteTimeUtc = DateTime.UtcNow.AddMinutes(-5);
        var inUse = Directory.CreateDirectory(Path.Combine(temp, "flowdiffusion-run-inuse"));
        using (var held = new FileStream(Path.Combine(inUse.FullName, "in-use.lock"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            inUse.LastWriteTimeUtc = DateTime.UtcNow.AddMinutes(-5);
            var (exit, _, stderr) = Cli.RunWith(new Dictionary<string, string> { ["TMPDIR"] = temp }, "run", file, "--plugins", TestPlugins, "--out", _folder);
            Assert.True(exit == 0, stderr);
        }

        Assert.Equal([inUse.FullName], Directory.EnumerateFileSystemEntries(temp));
        Assert.Equal("2", File.ReadAllText(Path.Combine(_folder, "value-out.txt")));
    }

    [Fact]
    public void Run_prints_a_summary_of_nodes_and_outputs_when_redirected()
    {
        var file = Write("sum.yaml", """
            flowdiffusion: 1
            name: sum
            nodes:
              a: { node: test.number, with: { value: 1 } }
              slow: { node: test.delay, in: { value: a.result }, with: { milliseconds: 40, steps: 4 } }
              out: { node: test.sink, in: { value: slow.result } }
            """);
        var (exit, stdout, _) = Cli.Run("run", file, "--plugins", TestPlugins, "--out", _folder);
        Assert.Equal(0, exit);
        Assert.Contains("slow: step 4/4", stdout);
        Assert.Contains("Completed in", stdout);
        Assert.Contains("3 nodes run, 0 cached", stdout);
        Assert.Contains("Output: " + Path.Combine(_folder, "value-out.txt"), stdout);
    }

    [Fact]
    public void A_failing_node_exits_1_naming_node_type_and_plugin()
    {
        var file = Write("fail.yaml", """
            flowdiffusion: 1
            name: fail
            nodes:
              boom: { node: test.throw, with: { message: kaboom } }
            """);
        var (exit, stdout, stderr) = Cli.Run("run", file, "--plugins", TestPlugins, "--target", "boom", "--out", _folder, "--json");
        Assert.Equal(1, exit);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("failed", result["status"]!.GetValue<string>());
        Assert.Contains("node 'boom' (test.throw, plugin 'flowdiffusion.test-nodes') failed: kaboom", result["error"]!.GetValue<string>());
    }

    [Fact]
    public void Validate_exits_0_for_valid_and_1_with_located_errors_for_invalid()
    {
        var good = Cli.Run("validate", "workflows/txt2img.yaml");
        Assert.True(good.ExitCode == 0, good.Stderr);
        var file = Write("bad.yaml", """
            flowdiffusion: 1
            name: bad
            nodes:
              a: { node: test.numbr, with: { value: 1 } }
              b: { node: test.add, in: { a: a.result } }
            """);
        var (exit, _, stderr) = Cli.Run("validate", file, "--plugins", TestPlugins);
        Assert.Equal(1, exit);
        Assert.Contains($"{file}:4:3: node 'a': unknown node type 'test.numbr'; did you mean 'test.number'", stderr);
        Assert.Contains($"{file}:5:3: node 'b': missing required input 'b' (FLOAT)", stderr);
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, Cli.Run("run").ExitCode);
        Assert.Equal(2, Cli.Run("frobnicate").ExitCode);
        Assert.Equal(2, Cli.Run("run", "workflows/txt2img.yaml", "--set", "novalue").ExitCode);
        Assert.Equal(0, Cli.Run("run", "--help").ExitCode);
    }

    [Fact]
    public void Unknown_set_input_is_an_invalid_workflow_with_a_suggestion()
    {
        var (exit, _, stderr) = Cli.Run("validate", "workflows/txt2img.yaml", "--set", "sed=3");
        Assert.Equal(1, exit);
        Assert.Contains("--set sed: the workflow has no input 'sed'; did you mean 'seed'?", stderr);
    }

    [Fact]
    public void Nodes_json_describes_the_stable_diffusion_pack()
    {
        var (exit, stdout, stderr) = Cli.Run("nodes", "--json");
        Assert.True(exit == 0, stderr);
        var nodes = JsonNode.Parse(stdout)!["nodes"]!.AsArray();
        var sample = nodes.Single(n => n!["id"]!.GetValue<string>() == "diffusion.sample")!;
        Assert.Equal("flowdiffusion.stable-diffusion", sample["plugin"]!.GetValue<string>());
        Assert.Contains(sample["inputs"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "guider" && p["type"]!.GetValue<string>() == "GUIDER");
        var strength = sample["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "strength")!;
        Assert.Equal(0, strength["min"]!.GetValue<double>());
        Assert.Equal(1, strength["max"]!.GetValue<double>());
        foreach (var id in new[] { "model.load", "clip.tokenize", "clip.encode", "conditioning.mix", "latent.empty", "latent.noise", "diffusion.scheduler",
                     "unet.denoiser", "guidance.cfg", "vae.encode", "vae.decode", "latent.preview", "image.load", "mask.load", "image.save", "image.grid" })
            Assert.Contains(nodes, n => n!["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public void Txt2img_quick_start_workflow_writes_a_png_carrying_its_workflow()
    {
        var (exit, stdout, stderr) = Cli.Run("run", "workflows/txt2img.yaml", "--set", "model=models/analytic-sd", "--set", "prompt=a blue ball",
            "--set", "width=64", "--set", "height=64", "--set", "steps=4", "--set", "cfg=1", "--out", _folder, "--json");
        Assert.True(exit == 0, stderr);
        var png = Assert.Single(JsonNode.Parse(stdout)!["outputs"]!.AsArray())!.GetValue<string>();
        var bytes = File.ReadAllBytes(png);
        Assert.Equal([137, 80, 78, 71], bytes[..4]);
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.Contains("flowdiffusion.workflow", text);
        Assert.Contains("node: diffusion.sample", text);
        Assert.Contains("\"prompt\":\"a blue ball\"", text);
    }

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }
}
