using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Api;
using FlowDiffusion.Server.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// A saved workflow run once when the server starts, before the queue's first run and off the record (no history, no
/// output files), so that the first request does not pay for loading the models and for a first run's page faults
/// (<see cref="ServerOptions.WarmUp"/>). Requests are accepted meanwhile and wait in the queue. A warm-up that cannot
/// run or fails is reported in <c>/api/health</c> and the log; the server serves either way.
/// </summary>
public sealed class WarmUp
{
    private readonly ServerOptions _options;
    private readonly ILogger<WarmUp> _logger;
    private volatile JsonObject? _status;

    /// <summary>Creates the warm-up for the configured workflow, if any.</summary>
    public WarmUp(IOptions<ServerOptions> options, ILogger<WarmUp> logger)
    {
        _options = options.Value;
        _logger = logger;
        if (Configured) _status = Status("waiting");
    }

    /// <summary>Whether a warm-up workflow is configured.</summary>
    public bool Configured => !string.IsNullOrEmpty(_options.WarmUp);

    /// <summary>The warm-up's state for <c>/api/health</c>: workflow, state, and once ended its seconds or error; null when none is configured.</summary>
    public JsonObject? Snapshot => _status?.DeepClone().AsObject();

    /// <summary>Runs the configured workflow once; returns when it has ended (or at once when none is configured).</summary>
    /// <param name="engine">The engine the queue's runs execute on.</param>
    /// <param name="workingFolder">The folder relative paths in its inputs resolve against, as for queued runs.</param>
    /// <param name="anyInputPath">Whether it may read files anywhere, as for queued runs.</param>
    /// <param name="cancellationToken">The host stopping.</param>
    public async Task RunAsync(FlowDiffusionEngine engine, string workingFolder, bool anyInputPath, CancellationToken cancellationToken)
    {
        if (!Configured) return;
        var name = _options.WarmUp!;
        var clock = Stopwatch.StartNew();
        var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-warm-up-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Found and given its inputs as a request naming it is (POST /api/runs), so it warms the model requests will use.
            var file = WorkflowNames.IsValid(name) ? WorkflowNames.FileOf(engine.Options.WorkflowsFolder, name) : null;
            if (file is null || !File.Exists(file))
            {
                Fail(clock, $"no saved workflow '{name}' in {Path.GetFullPath(engine.Options.WorkflowsFolder)} (FlowDiffusion:Server:WarmUp names one by its file name without .yaml)");
                return;
            }
            var yaml = await File.ReadAllTextAsync(file, cancellationToken);
            var inputs = _options.WarmUpInputs.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
            WorkflowModelDefaults.ApplyToRun(yaml, name + ".yaml", inputs, engine.Options);
            var validation = engine.Parse(yaml, name + ".yaml", inputs, anyInputPath);
            if (validation.Plan is null)
            {
                Fail(clock, $"{name}.yaml is not valid with the warm-up inputs: " + string.Join("; ", validation.Errors.Select(FlowDiffusionApi.Text)));
                return;
            }
            _status = Status("running");
            _logger.LogInformation("Warm-up: running {Workflow} before the queue's first run", name);
            var run = engine.Start(validation.Plan, new RunOptions { RunId = "warm-up", OutputDirectory = scratch, WorkingDirectory = workingFolder, AnyInputPath = anyInputPath },
                collectEvents: false, CancellationToken.None);
            RunResult result;
            using (cancellationToken.Register(run.Cancel))
            {
                result = await run.Completion;
            }
            if (result.Status != RunStatus.Completed)
            {
                var where = result.FailedNode is { } node ? $" at node '{node}'" : string.Empty;
                Fail(clock, $"{name} {result.Status.ToString().ToLowerInvariant()}{where}: {result.Error}");
                return;
            }
            _status = Status("done", clock.Elapsed.TotalSeconds);
            _logger.LogInformation("Warm-up: {Workflow} ran in {Seconds:F1} s; its models stay loaded", name, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Fail(clock, $"{name} failed: {e.Message}");
        }
        finally
        {
            try
            {
                if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("Warm-up: could not delete its scratch folder {Folder}: {Message}", scratch, e.Message);
            }
        }
    }

    /// <summary>Reports that the configured warm-up will not run on this host, and why.</summary>
    /// <param name="why">The reason, as the health check and the log give it.</param>
    public void NotRun(string why)
    {
        if (Configured) Fail(Stopwatch.StartNew(), why);
    }

    private void Fail(Stopwatch clock, string error)
    {
        _status = Status("failed", clock.Elapsed.TotalSeconds, error);
        _logger.LogWarning("Warm-up failed: {Error}; the server serves without it", error);
    }

    private JsonObject Status(string state, double? seconds = null, string? error = null)
    {
        var status = new JsonObject { ["workflow"] = _options.WarmUp, ["state"] = state };
        if (seconds is { } s) status["seconds"] = Math.Round(s, 3);
        if (error is not null) status["error"] = error;
        return status;
    }
}
