using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FlowDiffusion.LoadTest;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Runs;

// Load and fault test: 20 concurrent clients, 200 txt2img runs on tiny-sd, then kill -9 mid-queue and restart.
// Loopback only, bounded counts, one overall time limit; prints Markdown figures and exits 1 on any violation.
var options = LoadOptions.Parse(args);
var repository = ServeProcess.FindRepositoryRoot();
var cli = ServeProcess.FindCli(repository);
var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-load-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(scratch);
using var limit = new CancellationTokenSource(options.Timeout);
var deadline = DateTime.UtcNow + options.Timeout;
var failures = new List<string>();
var report = new List<string>();
void Check(bool ok, string what)
{
    if (!ok) failures.Add(what);
}

report.Add($"| machine | {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average at start {LoadAverage()} |");
Console.WriteLine($"flowdiffusion load test: {options.Runs} runs by {options.Clients} clients, then {options.CrashRuns} with kill -9; " +
    $"{options.Model}, 64×64, {options.Steps} steps; scratch {scratch}");
var serve = await ServeProcess.StartAsync(cli, repository, scratch, ServeProcess.FreePort(), [], limit.Token);
try
{
    // Phase 1: load.
    var clock = Stopwatch.StartNew();
    using var sampling = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
    var depth = RunApi.SampleQueueAsync(serve.Client, TimeSpan.FromMilliseconds(100), sampling.Token);
    var (loadIds, postTimes) = await SubmitBatchAsync(serve.Client, "load", 0, options.Runs);
    var submitSeconds = clock.Elapsed.TotalSeconds;
    Check(loadIds.Values.Distinct().Count() == options.Runs, "load: two submissions got the same run id");
    var retried = await ResubmitAsync(serve.Client, "load", 0, options.Runs, step: 10);
    Check(retried.All(r => loadIds[r.Key] == r.Value), "load: a retried idempotency key got a different run");
    await RunApi.WaitIdleAsync(serve.Client, deadline, limit.Token);
    var loadWall = clock.Elapsed.TotalSeconds;
    await sampling.CancelAsync();
    var (peakQueued, peakRunning) = await depth;
    var runs = await RunApi.AllRunsAsync(serve.Client, limit.Token);
    // The list is newest first by acceptance; with one priority the dispatcher must start them in that order.
    var accepted = runs.Select(Id).Reverse().ToList();
    var startOrder = runs.Where(r => r["started"] is not null).OrderBy(r => Time(r, "started")).Select(Id).ToList();
    var inOrder = accepted.Zip(startOrder).Count(p => p.First == p.Second);
    Check(inOrder == options.Runs, $"load: {options.Runs - inOrder} runs started out of acceptance (FIFO) order");
    Check(peakRunning <= 1, $"load: {peakRunning} runs ran at once; the default limit is 1");
    Check(runs.Count == options.Runs, $"load: {runs.Count} runs stored for {options.Runs} accepted");
    await VerifyAsync(serve.Client, runs, loadIds, "load");
    var load = Timings(runs);
    report.Add($"| runs | {options.Runs} by {options.Clients} concurrent clients ({retried.Count} keys re-sent: no new runs) |");
    report.Add($"| submit | all accepted in {submitSeconds:F1} s; POST latency {Percentiles.Describe(postTimes)} |");
    report.Add($"| throughput | {options.Runs / load.Span.TotalSeconds:F2} runs/s (first submit → last finish {load.Span.TotalSeconds:F1} s; client saw idle after {loadWall:F1} s) |");
    report.Add($"| execution (started → finished) | {Percentiles.Describe(load.Execution)} |");
    report.Add($"| end to end (submitted → finished) | {Percentiles.Describe(load.EndToEnd)} |");
    report.Add($"| queue | peak {peakQueued} queued, at most {peakRunning} running (sampled every 100 ms); started in acceptance order: {inOrder} of {options.Runs} |");
    report.Add($"| outcome | {Summary(runs)} |");

    // Phase 2: kill -9 mid-queue, restart on the same data folder. The database, read after the kill, says what was in
    // flight. A kill that lands between two runs is repeated (at most 10 kills) so that the in-flight path is exercised;
    // only such kills are repeated, so no run is ever killed twice.
    var (crashIds, _) = await SubmitBatchAsync(serve.Client, "crash", options.Runs, options.CrashRuns);
    var crashSet = crashIds.Values.ToHashSet();
    var target = options.Runs + Math.Min(3, options.CrashRuns - 1);
    var kills = 0;
    var atKill = new Dictionary<RunState, int>();
    HashSet<string> wasRunning = [];
    var restart = Stopwatch.StartNew();
    while (true)
    {
        while (await RunApi.CountAsync(serve.Client, "completed", limit.Token) < target ||
               await RunApi.CountAsync(serve.Client, "running", limit.Token) == 0)
        {
            if (await RunApi.CountAsync(serve.Client, "queued", limit.Token) == 0) throw new InvalidOperationException("the queue drained before the kill");
            await Task.Delay(10, limit.Token);
        }
        serve.KillHard();
        restart.Restart();
        kills++;
        serve.Dispose();
        var stored = (await new SqliteRunStore(Path.Combine(scratch, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile))
            .ListAsync(null, 0, options.Runs + options.CrashRuns + 1, limit.Token)).Runs;
        atKill = stored.Where(r => crashSet.Contains(r.Id)).GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        wasRunning = stored.Where(r => r.Status == RunState.Running).Select(r => r.Id).ToHashSet();
        serve = await ServeProcess.StartAsync(cli, repository, scratch, ServeProcess.FreePort(), [], limit.Token);
        if (wasRunning.Count > 0 || kills == 10) break;
    }
    Check(wasRunning.Count == 1, $"crash: {wasRunning.Count} runs were in flight at the last of {kills} kills; expected 1");
    var restartSeconds = restart.Elapsed.TotalSeconds;
    // Clients that never saw an answer send again with the same keys: the answer must be the run already accepted.
    var resent = await ResubmitAsync(serve.Client, "crash", options.Runs, options.CrashRuns, step: 1);
    Check(resent.All(r => crashIds[r.Key] == r.Value), "crash: a key re-sent after the restart got a different run");
    await RunApi.WaitIdleAsync(serve.Client, deadline, limit.Token);
    var after = await RunApi.AllRunsAsync(serve.Client, limit.Token);
    Check(after.Count == options.Runs + options.CrashRuns, $"crash: {after.Count} runs stored for {options.Runs + options.CrashRuns} accepted");
    var crashRuns = after.Where(r => crashSet.Contains(Id(r))).ToList();
    await VerifyAsync(serve.Client, crashRuns, crashIds, "crash");
    var requeued = crashRuns.Where(r => r["attempts"]!.GetValue<int>() == 2).Select(Id).ToHashSet();
    Check(requeued.SetEquals(wasRunning), $"crash: re-run runs {string.Join(",", requeued)} are not the ones in flight at the kill ({string.Join(",", wasRunning)})");
    Check(serve.Log.Contains("Crash recovery", StringComparison.Ordinal) == (wasRunning.Count > 0), "crash: the restarted server did not log its recovery");
    report.Add($"| kill -9 | {kills} kill(s) (a kill between two runs is repeated); at the last, of {options.CrashRuns} runs: " +
        $"{atKill.GetValueOrDefault(RunState.Completed)} completed, {atKill.GetValueOrDefault(RunState.Running)} running, {atKill.GetValueOrDefault(RunState.Queued)} queued |");
    report.Add($"| restart | healthy {restartSeconds:F1} s after the kill; {resent.Count} keys re-sent, all answered with the run already accepted |");
    report.Add($"| recovery | {Summary(crashRuns)}; re-run once (attempts = 2): {requeued.Count}; stored runs {after.Count} = {options.Runs} + {options.CrashRuns} |");
}
catch (Exception e) when (e is TimeoutException or OperationCanceledException or InvalidOperationException or HttpRequestException)
{
    failures.Add($"aborted: {e.Message}");
}
finally
{
    serve.Dispose();
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

Console.WriteLine();
Console.WriteLine("| measure | value |");
Console.WriteLine("|---|---|");
foreach (var line in report) Console.WriteLine(line);
Console.WriteLine();
Console.WriteLine(failures.Count == 0 ? "PASS: every accepted run completed exactly once, none lost or duplicated." : "FAIL:\n- " + string.Join("\n- ", failures));
return failures.Count == 0 ? 0 : 1;

async Task<(ConcurrentDictionary<int, string> Ids, ConcurrentBag<TimeSpan> Times)> SubmitBatchAsync(HttpClient client, string prefix, int first, int count)
{
    var ids = new ConcurrentDictionary<int, string>();
    var times = new ConcurrentBag<TimeSpan>();
    var next = first - 1;
    await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async _ =>
    {
        int seed;
        while ((seed = Interlocked.Increment(ref next)) < first + count)
        {
            var (id, elapsed) = await RunApi.SubmitAsync(client, options.Model, seed, options.Steps, $"{prefix}-{seed}", limit.Token);
            ids[seed] = id;
            times.Add(elapsed);
        }
    }));
    return (ids, times);
}

async Task<Dictionary<int, string>> ResubmitAsync(HttpClient client, string prefix, int first, int count, int step)
{
    var seeds = Enumerable.Range(first, count).Where(s => (s - first) % step == 0).ToList();
    var answers = await Task.WhenAll(seeds.Select(async s => (s, (await RunApi.SubmitAsync(client, options.Model, s, options.Steps, $"{prefix}-{s}", limit.Token)).Id)));
    return answers.ToDictionary(a => a.s, a => a.Id);
}

async Task VerifyAsync(HttpClient client, List<JsonNode> runs, ConcurrentDictionary<int, string> accepted, string phase)
{
    var bySeed = runs.GroupBy(r => r["inputs"]!["seed"]!.GetValue<int>()).ToDictionary(g => g.Key, g => g.ToList());
    foreach (var (seed, id) in accepted)
    {
        if (!bySeed.TryGetValue(seed, out var matches)) failures.Add($"{phase}: accepted run {id} (seed {seed}) is lost");
        else if (matches.Count != 1) failures.Add($"{phase}: seed {seed} stored {matches.Count} times");
        else if (Id(matches[0]) != id) failures.Add($"{phase}: seed {seed} stored as {Id(matches[0])}, accepted as {id}");
    }
    foreach (var run in runs)
    {
        var id = Id(run);
        if (Status(run) != "completed")
        {
            failures.Add($"{phase}: run {id} is {Status(run)}: {run["error"]}");
            continue;
        }
        var outputs = run["outputs"]!.AsArray();
        var onDisk = Directory.Exists(Path.Combine(scratch, "outputs", id)) ? Directory.GetFiles(Path.Combine(scratch, "outputs", id)).Length : 0;
        if (outputs.Count != 1 || onDisk != 1)
        {
            failures.Add($"{phase}: run {id} lists {outputs.Count} outputs and has {onDisk} files; expected one PNG");
            continue;
        }
        var png = await client.GetByteArrayAsync(outputs[0]!["url"]!.GetValue<string>(), limit.Token);
        // PNG signature, then IHDR: width and height big-endian at bytes 16 and 20.
        var size = png.Length >= 24 ? (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))) : (0, 0);
        if (png.Length < 24 || png[0] != 0x89 || png[1] != (byte)'P' || size != (64, 64))
            failures.Add($"{phase}: run {id} output is not a 64×64 PNG");
    }
}

static string Id(JsonNode run) => run["id"]!.GetValue<string>();

static string Status(JsonNode run) => run["status"]!.GetValue<string>();

static string Summary(IEnumerable<JsonNode> runs) =>
    string.Join(", ", runs.GroupBy(Status).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));

static DateTimeOffset Time(JsonNode run, string name) => DateTimeOffset.Parse(run[name]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

// The 1-minute load average on Linux (what else competes for the CPUs while measuring); "n/a" elsewhere.
static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

static (TimeSpan Span, List<TimeSpan> Execution, List<TimeSpan> EndToEnd) Timings(List<JsonNode> runs)
{
    var done = runs.Where(r => r["finished"] is not null && r["started"] is not null).ToList();
    if (done.Count == 0) return (TimeSpan.FromTicks(1), [], []);
    var span = done.Max(r => Time(r, "finished")) - done.Min(r => Time(r, "submitted"));
    return (span, done.Select(r => Time(r, "finished") - Time(r, "started")).ToList(), done.Select(r => Time(r, "finished") - Time(r, "submitted")).ToList());
}
