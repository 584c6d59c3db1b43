using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.LoadTest;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// <c>flowdiffusion serve</c> as a real process, killed with SIGKILL while a run is in flight and others wait, then
/// started again on the same data folder.
/// </summary>
public sealed class KillRecoveryTests : IDisposable
{
    private const int Runs = 5;

    // The image is saved early; the test branch keeps the run in flight for seconds after, so a kill lands between
    // the run's first output and its end. The delay follows the seed, so no run is answered from the cache. It runs
    // beside the image branch, not after it: 3 s was once all used up by the image branch on a loaded CI machine (the
    // run completed before the kill), so it is 8 s.
    private static readonly string SaveThenWait = $$"""
        flowdiffusion: 1
        name: save-then-wait
        inputs:
          seed: { type: int, default: 1 }
        nodes:
          model: { node: model.load, with: { path: models/analytic-sd } }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a blue ball } }
          prompt: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: prompt.conditioning, negative: prompt.conditioning }, with: { scale: 1 } }
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: euler, steps: 4 } }
          noise: { node: latent.noise, in: { unet: model.unet }, with: { seed: $seed, width: 64, height: 64 } }
          sample: { node: diffusion.sample, in: { guider: guider.guider, schedule: schedule.schedule, noise: noise.noise } }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
          save: { node: image.save, in: { images: decode.image }, with: { prefix: image } }
          start: { node: test.number, with: { value: $seed } }
          wait: { node: test.delay, in: { value: start.result }, with: { milliseconds: 8000, steps: 4 } }
          sink: { node: test.sink, in: { value: wait.result } }
        """;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Kill_9_with_a_run_in_flight_and_runs_queued_loses_none_and_reruns_the_one_in_flight_into_one_set_of_outputs()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var cli = ServeProcess.FindCli(RepositoryRoot.Path);
        // The server works in the scratch folder, so its default plugins/ is a snapshot of the built packs: a parallel
        // build rebuilding the checkout's plugins/ cannot hot-reload them under the test.
        foreach (var plugin in Directory.GetDirectories(RepositoryRoot.TestPlugins).Append(Path.Combine(RepositoryRoot.Path, "plugins", "FlowDiffusion.Nodes.StableDiffusion")))
            SnapshotPlugin(plugin, Path.Combine(_folder.Path, "plugins", Path.GetFileName(plugin)));
        // Server runs read models only from the models folder (an input folder): here a link to the checkout's.
        Directory.CreateSymbolicLink(Path.Combine(_folder.Path, "models"), Path.Combine(RepositoryRoot.Path, "models"));
        var ids = new List<string>();
        string inFlight;
        using (var first = await ServeProcess.StartAsync(cli, _folder.Path, _folder.Path, ServeProcess.FreePort(), [], limit.Token))
        {
            for (var seed = 1; seed <= Runs; seed++) ids.Add(await SubmitAsync(first.Client, seed, limit.Token));
            inFlight = await WaitForPartialOutputAsync(first.Client, limit.Token);
            first.KillHard();
        }

        // The database as SIGKILL left it: the observed run still running with its early image on disk, the rest behind it.
        var atKill = (await new SqliteRunStore(Database).ListAsync(null, 0, 100, limit.Token)).Runs.ToDictionary(r => r.Id, r => r.Status);
        Assert.Equal(RunState.Running, atKill[inFlight]);
        Assert.Equal([inFlight], atKill.Where(r => r.Value == RunState.Running).Select(r => r.Key));
        Assert.Contains(RunState.Queued, atKill.Values);
        Assert.Equal(["image_00001.png"], Directory.GetFiles(OutputFolder(inFlight), "*.png").Select(Path.GetFileName));

        using var second = await ServeProcess.StartAsync(cli, _folder.Path, _folder.Path, ServeProcess.FreePort(), [], limit.Token);
        var finished = new List<JsonNode>();
        foreach (var id in ids) finished.Add(await WaitFinishedAsync(second.Client, id, limit.Token));

        Assert.Equal(Runs, JsonNode.Parse(await second.Client.GetStringAsync("/api/runs?limit=100", limit.Token))!["total"]!.GetValue<int>());
        Assert.Contains("Crash recovery: 1 run(s) re-queued, 0 marked interrupted", second.Log);
        foreach (var (run, seed) in finished.Select((r, i) => (r, i + 1)))
        {
            var id = run["id"]!.GetValue<string>();
            Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
            Assert.Equal(id == inFlight ? 2 : 1, run["attempts"]!.GetValue<int>());
            // Exactly one set of outputs, listed and on disk alike: the killed attempt's image is not left beside the re-run's.
            var listed = run["outputs"]!.AsArray().Select(o => o!["file"]!.GetValue<string>()).Order(StringComparer.Ordinal);
            Assert.Equal(["image_00001.png", "value-sink.txt"], listed);
            Assert.Equal(["image_00001.png", "value-sink.txt"], Directory.GetFiles(OutputFolder(id)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(seed.ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllTextAsync(Path.Combine(OutputFolder(id), "value-sink.txt"), limit.Token));
            var (width, height, r, g, b) = Images.Measure(await File.ReadAllBytesAsync(Path.Combine(OutputFolder(id), "image_00001.png"), limit.Token));
            Assert.Equal((64, 64, 0.0, 0.0, 1.0), (width, height, Math.Round(r, 1), Math.Round(g, 1), Math.Round(b, 1)));
        }
    }

    /// <summary>Copies a built plugin folder, with the native libraries of this platform only (those of all platforms are 600 MB).</summary>
    private static void SnapshotPlugin(string source, string destination)
    {
        var native = Path.Combine(source, "runtimes", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("runtimes" + Path.DirectorySeparatorChar, StringComparison.Ordinal) && Directory.Exists(native) &&
                !file.StartsWith(native + Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue;
            var target = Path.Combine(destination, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private string Database => Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile);

    private string OutputFolder(string id) => Path.Combine(_folder.Path, "outputs", id);

    private static async Task<string> SubmitAsync(HttpClient client, int seed, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync("/api/runs", new { yaml = SaveThenWait, inputs = new { seed } }, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    /// <summary>Polls until the running run has saved its image and at least one run still waits; returns its id.</summary>
    private async Task<string> WaitForPartialOutputAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var runs = JsonNode.Parse(await client.GetStringAsync("/api/runs?limit=100", cancellationToken))!["runs"]!.AsArray();
            var running = runs.Where(r => r!["status"]!.GetValue<string>() == "running").Select(r => r!["id"]!.GetValue<string>()).ToList();
            var queued = runs.Count(r => r!["status"]!.GetValue<string>() == "queued");
            if (running.Count == 1 && queued > 0 && Directory.Exists(OutputFolder(running[0])) && Directory.GetFiles(OutputFolder(running[0]), "*.png").Length > 0)
                return running[0];
            if (queued == 0)
                throw new InvalidOperationException("every run left the queue before one was seen in flight with its image saved: " + runs.ToJsonString());
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("no run was seen in flight with its image saved within 90 s: " + runs.ToJsonString());
            await Task.Delay(25, cancellationToken);
        }
    }

    private static async Task<JsonNode> WaitFinishedAsync(HttpClient client, string id, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var run = JsonNode.Parse(await client.GetStringAsync($"/api/runs/{id}", cancellationToken))!;
            if (run["status"]!.GetValue<string>() is not ("queued" or "running")) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {id} still {run["status"]} 120 s after the restart");
            await Task.Delay(50, cancellationToken);
        }
    }
}
