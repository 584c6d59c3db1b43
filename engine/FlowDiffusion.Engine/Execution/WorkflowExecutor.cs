using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// Executes plans: only the nodes the targets need, independent branches concurrently up to a limit, outputs
/// served from the shared <see cref="OutputCache"/> when type (as loaded), version, parameters and upstream keys match.
/// </summary>
public sealed class WorkflowExecutor(OutputCache cache, IServiceProvider services, ResourceStores resources, ILoggerFactory? loggers = null)
{
    private readonly ILoggerFactory _loggers = loggers ?? NullLoggerFactory.Instance;
    private readonly FileDependencies _dependencies = new();

    /// <summary>The cache this executor reads and fills.</summary>
    public OutputCache Cache => cache;

    /// <summary>Per-plugin objects shared across runs.</summary>
    public ResourceStores Resources => resources;

    /// <summary>Host services handed to nodes.</summary>
    public IServiceProvider Services => services;

    /// <summary>Starts a run; read its events with <see cref="WorkflowRun.ReadEventsAsync"/> and await <see cref="WorkflowRun.Completion"/>.</summary>
    /// <param name="plan">A validated plan.</param>
    /// <param name="options">Targets, concurrency, folders.</param>
    /// <param name="collectEvents">False when nobody reads the event stream (the events are then dropped).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public WorkflowRun Start(ExecutionPlan plan, RunOptions? options = null, bool collectEvents = true, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        var runId = options.RunId ?? Guid.NewGuid().ToString("n")[..12];
        var channel = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true });
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = new WorkflowRun(runId, channel, cts);
        var execution = new Execution(this, plan, options, runId, RunOrder.Next(), collectEvents ? channel.Writer : null, cts);
        run.Completion = Task.Run(execution.RunAsync, CancellationToken.None);
        return run;
    }

    /// <summary>Runs a plan to the end without reading events.</summary>
    public Task<RunResult> RunAsync(ExecutionPlan plan, RunOptions? options = null, CancellationToken cancellationToken = default) =>
        Start(plan, options, collectEvents: false, cancellationToken).Completion;

    private sealed class Execution(WorkflowExecutor owner, ExecutionPlan plan, RunOptions options, string runId, long order, ChannelWriter<RunEvent>? events, CancellationTokenSource cts)
    {
        private readonly IReadOnlyDictionary<string, object?>?[] _outputs = new IReadOnlyDictionary<string, object?>?[plan.Nodes.Count];
        private readonly string?[] _keys = new string?[plan.Nodes.Count];
        private readonly int[] _waiting = new int[plan.Nodes.Count];
        private readonly NodeTiming?[] _timings = new NodeTiming?[plan.Nodes.Count];
        private readonly List<string> _files = [];
        private readonly List<string>?[] _dependsOn = new List<string>?[plan.Nodes.Count];
        private readonly Dictionary<string, double> _metrics = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _gate = new(Math.Max(1, options.MaxConcurrency ?? RunOptions.DefaultMaxConcurrency));
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lazy<WorkflowInfo> _workflow = new(() => new WorkflowInfo(plan.Workflow.Name, WorkflowYamlWriter.Write(plan.Workflow), plan.Inputs));
        private bool[] _needed = [];
        private bool[] _targets = [];
        private readonly HashSet<(int Node, string Output)> _read = [];
        private int _inFlight;
        private NodeExecutionException? _failure;

        public async Task<RunResult> RunAsync()
        {
            var clock = Stopwatch.StartNew();
            // Every node's work (and the tasks it starts) carries this run's number, so shared resources serve older runs first.
            using var mark = RunOrder.Mark(order);
            try
            {
                FindWork();
                var nodeOrder = plan.Nodes.Where(n => _needed[n.Index]).Select(n => n.Id).ToList();
                Publish(new RunStarted(runId, DateTimeOffset.UtcNow, nodeOrder));
                Directory.CreateDirectory(options.OutputDirectory);
                foreach (var node in plan.Nodes)
                {
                    if (!_needed[node.Index]) continue;
                    _waiting[node.Index] = node.Inputs.Select(e => e.SourceIndex).Distinct().Count();
                }
                var roots = plan.Nodes.Where(n => _needed[n.Index] && _waiting[n.Index] == 0).Select(n => n.Index).ToList();
                Interlocked.Add(ref _inFlight, roots.Count);
                if (roots.Count == 0) _drained.TrySetResult();
                foreach (var root in roots) Launch(root);
                await _drained.Task.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _failure ??= new NodeExecutionException("-", "-", "-", e.Message, e);
            }
            return Finish(clock.Elapsed);
        }

        private RunResult Finish(TimeSpan elapsed)
        {
            var timings = _timings.Where(t => t is not null).Select(t => t!).ToList();
            var outputs = plan.Nodes.Where(n => _outputs[n.Index] is not null).ToDictionary(n => n.Id, n => _outputs[n.Index]!);
            List<string> files;
            lock (_files) files = [.. _files];
            RunResult result;
            if (_failure is { } failure)
            {
                // A failure outside any node (a bad target, say) reports its own cause, not "node '-' failed".
                var (error, nodeId) = failure.NodeId == "-" ? (failure.InnerException?.Message ?? failure.Message, null) : (failure.Message, failure.NodeId);
                Publish(new RunFailed(runId, DateTimeOffset.UtcNow, error, nodeId));
                result = new RunResult(runId, RunStatus.Failed, elapsed, timings, files, outputs, error, nodeId) { Metrics = Metrics() };
            }
            else if (cts.IsCancellationRequested || _needed.Where((n, i) => n && _outputs[i] is null).Any())
            {
                Publish(new RunCancelled(runId, DateTimeOffset.UtcNow));
                result = new RunResult(runId, RunStatus.Cancelled, elapsed, timings, files, outputs, "the run was cancelled") { Metrics = Metrics() };
            }
            else
            {
                Publish(new RunFinished(runId, DateTimeOffset.UtcNow, elapsed, files));
                result = new RunResult(runId, RunStatus.Completed, elapsed, timings, files, outputs) { Metrics = Metrics() };
            }
            events?.TryComplete();
            return result;
        }

        // Which nodes run (the targets and, transitively, what they read) and which outputs are read (every output of a
        // target, and what the inputs of those nodes read). Filled before any node starts and only read afterwards.
        private void FindWork()
        {
            _targets = new bool[plan.Nodes.Count];
            _needed = new bool[plan.Nodes.Count];
            foreach (var target in Targets()) _targets[target] = true;
            var stack = new Stack<int>(plan.Nodes.Where(n => _targets[n.Index]).Select(n => n.Index));
            while (stack.Count > 0)
            {
                var index = stack.Pop();
                if (_needed[index]) continue;
                _needed[index] = true;
                foreach (var edge in plan.Nodes[index].Inputs)
                {
                    _read.Add((edge.SourceIndex, edge.Output.Name));
                    stack.Push(edge.SourceIndex);
                }
            }
        }

        // The options' targets, else the output nodes (image.save and other sinks), else every node.
        private IEnumerable<int> Targets()
        {
            if (options.Targets.Count > 0)
            {
                return options.Targets.Select(id => plan.Find(id)?.Index
                    ?? throw new ArgumentException($"target '{id}' is not a node of the workflow; its nodes are: {string.Join(", ", plan.Nodes.Select(n => n.Id))}")).ToList();
            }
            var sinks = plan.Nodes.Where(n => n.Descriptor.IsOutput).Select(n => n.Index).ToList();
            return sinks.Count > 0 ? sinks : plan.Nodes.Select(n => n.Index);
        }

        private bool IsUsed(PlannedNode node, string output)
        {
            if (!node.Descriptor.Outputs.Any(o => o.Name == output))
                throw new ArgumentException($"node '{node.Id}' ({node.Descriptor.Id}) has no output '{output}'; its outputs are: {string.Join(", ", node.Descriptor.Outputs.Select(o => o.Name))}", nameof(output));
            return _targets[node.Index] || _read.Contains((node.Index, output));
        }

        // A cached result serves this run only when it holds every output this run reads (an earlier run may have skipped unused ones).
        private bool Covers(PlannedNode node, IReadOnlyDictionary<string, object?> cached) =>
            node.Descriptor.Outputs.All(o => cached.GetValueOrDefault(o.Name) is not null || !IsUsed(node, o.Name));

        private void Launch(int index) => _ = Task.Run(() => RunNodeAsync(index));

        private async Task RunNodeAsync(int index)
        {
            // The first dependent this node makes ready runs next on this same task, so a chain costs no thread-pool hop per node.
            for (int? next = index; next is { } current;)
            {
                next = null;
                var succeeded = false;
                try
                {
                    if (_failure is null && !cts.IsCancellationRequested)
                    {
                        await ExecuteNodeAsync(plan.Nodes[current]).ConfigureAwait(false);
                        succeeded = true;
                    }
                }
                catch (OperationCanceledException) when (cts.IsCancellationRequested)
                {
                }
                catch (NodeExecutionException e)
                {
                    Fail(e);
                }
                catch (Exception e)
                {
                    var node = plan.Nodes[current];
                    Fail(new NodeExecutionException(node.Id, node.Descriptor.Id, node.Descriptor.Plugin, e.Message, e));
                }
                finally
                {
                    if (succeeded)
                    {
                        foreach (var dependent in plan.Dependents[current])
                        {
                            if (!_needed[dependent] || Interlocked.Decrement(ref _waiting[dependent]) != 0) continue;
                            Interlocked.Increment(ref _inFlight);
                            if (next is null) next = dependent;
                            else Launch(dependent);
                        }
                    }
                    if (Interlocked.Decrement(ref _inFlight) == 0) _drained.TrySetResult();
                }
            }
        }

        private void Fail(NodeExecutionException failure)
        {
            if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
            {
                Publish(new NodeFailed(runId, DateTimeOffset.UtcNow, failure.NodeId, failure.NodeType, failure.Message));
                cts.Cancel();
            }
        }

        private async Task ExecuteNodeAsync(PlannedNode node)
        {
            var descriptor = node.Descriptor;
            var parameterKey = CacheKey(node);
            var key = _keys[node.Index] = parameterKey is null ? null : owner._dependencies.KeyFor(parameterKey);
            if (key is not null && owner.Cache.TryGet(key, out var cached) && Covers(node, cached))
            {
                _outputs[node.Index] = cached;
                _timings[node.Index] = new NodeTiming(node.Id, descriptor.Id, TimeSpan.Zero, true);
                Publish(new NodeCached(runId, DateTimeOffset.UtcNow, node.Id, descriptor.Id));
                return;
            }

            var token = cts.Token;
            await _gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                token.ThrowIfCancellationRequested();
                var instance = descriptor.CreateInstance();
                foreach (var (parameter, value) in node.Parameters)
                    parameter.Property.SetValue(instance, value is Array array ? array.Clone() : value);
                foreach (var edge in node.Inputs)
                    edge.Port.Property.SetValue(instance, _outputs[edge.SourceIndex]![edge.Output.Name]);

                Publish(new NodeStarted(runId, DateTimeOffset.UtcNow, node.Id, descriptor.Id));
                var context = new NodeContext(runId, node.Id, owner._loggers.CreateLogger($"FlowDiffusion.Node.{descriptor.Id}"), owner.Services, owner.Resources.For(descriptor), _workflow, options, Publish, RecordFile, RecordMetric, output => IsUsed(node, output), path => DependsOn(node, path));
                var clock = Stopwatch.StartNew();
                var task = instance.ExecuteAsync(context, token);
                await AwaitWithGraceAsync(node, task, token).ConfigureAwait(false);
                var elapsed = clock.Elapsed;

                var values = new Dictionary<string, object?>(descriptor.Outputs.Count, StringComparer.Ordinal);
                foreach (var output in descriptor.Outputs)
                {
                    var value = output.Property.GetValue(instance);
                    if (value is null && !IsUsed(node, output.Name))
                    {
                        // Nothing reads it in this run, so the node may have skipped it.
                        values[output.Name] = null;
                        continue;
                    }
                    if (!output.Type.IsInstance(value))
                        throw new NodeExecutionException(node.Id, descriptor.Id, descriptor.Plugin,
                            value is null ? $"output '{output.Name}' was not set (expected {output.Type.Name})"
                                : $"output '{output.Name}' holds a {value.GetType().Name}, not the declared {output.Type.Name}");
                    values[output.Name] = value;
                }
                _outputs[node.Index] = values;
                if (parameterKey is not null && _dependsOn[node.Index] is { } paths)
                {
                    // What the node read is known now: its key (and so its dependents') includes their state.
                    lock (paths) key = _keys[node.Index] = owner._dependencies.Record(parameterKey, paths);
                }
                if (key is not null) owner.Cache.Set(key, values);
                _timings[node.Index] = new NodeTiming(node.Id, descriptor.Id, elapsed, false);
                Publish(new NodeFinished(runId, DateTimeOffset.UtcNow, node.Id, descriptor.Id, elapsed));
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task AwaitWithGraceAsync(PlannedNode node, Task task, CancellationToken token)
        {
            if (!task.IsCompleted)
            {
                var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await using (token.Register(() => cancelled.TrySetResult()))
                {
                    if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task &&
                        await Task.WhenAny(task, Task.Delay(options.CancellationGrace, CancellationToken.None)).ConfigureAwait(false) != task)
                    {
                        // The node ignores cancellation: abandon it, and keep its eventual fault from going unobserved.
                        _ = task.ContinueWith(t => t.Exception, TaskScheduler.Default);
                        owner._loggers.CreateLogger<WorkflowExecutor>().LogWarning(
                            "Node '{Node}' ({Type}) did not stop within {Grace} after cancellation and was abandoned.", node.Id, node.Descriptor.Id, options.CancellationGrace);
                        throw new OperationCanceledException(token);
                    }
                }
            }
            await task.ConfigureAwait(false);
        }

        private string? CacheKey(PlannedNode node)
        {
            if (!node.Descriptor.Deterministic) return null;
            var builder = new StringBuilder(128);
            builder.Append(node.Descriptor.Id).Append('@').Append(node.Descriptor.Version).Append('#').Append(NodeBuildTag.Of(node.Descriptor.NodeType))
                .Append('|').Append(node.ParameterFingerprint);
            foreach (var edge in node.Inputs)
            {
                var upstream = _keys[edge.SourceIndex];
                if (upstream is null) return null;
                builder.Append('|').Append(edge.Port.Name).Append('=').Append(upstream).Append('.').Append(edge.Output.Name);
            }
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()), hash);
            return Convert.ToHexString(hash);
        }

        private Dictionary<string, double> Metrics()
        {
            lock (_metrics) return new Dictionary<string, double>(_metrics, StringComparer.Ordinal);
        }

        private void RecordMetric(string name, double value)
        {
            lock (_metrics) _metrics[name] = _metrics.GetValueOrDefault(name) + value;
        }

        private void DependsOn(PlannedNode node, string path)
        {
            var paths = LazyInitializer.EnsureInitialized(ref _dependsOn[node.Index], () => []);
            lock (paths) paths.Add(Path.GetFullPath(path));
        }

        private void RecordFile(string path)
        {
            lock (_files) _files.Add(path);
        }

        private void Publish(RunEvent item) => events?.TryWrite(item);
    }
}
