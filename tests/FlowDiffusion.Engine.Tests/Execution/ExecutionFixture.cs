using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Engine.Tests.Execution;

/// <summary>Per test: a fresh executor and cache, and a scratch output folder.</summary>
public abstract class ExecutionFixture : IDisposable
{
    private readonly TempFolder _outputs = new();

    protected ExecutionFixture()
    {
        Cache = new OutputCache();
        Executor = TestPack.Executor(Cache);
    }

    internal OutputCache Cache { get; }

    internal WorkflowExecutor Executor { get; }

    internal string OutputDirectory => _outputs.Path;

    internal RunOptions Options(params string[] targets) => new() { OutputDirectory = _outputs.Path, Targets = targets };

    internal Task<RecordedRun> RunAsync(string yaml, RunOptions? options = null, IReadOnlyDictionary<string, object?>? inputs = null, Action<WorkflowRun, RunEvent>? onEvent = null) =>
        RecordedRun.RunAsync(Executor, TestPack.Plan(yaml, inputs), options ?? Options(), onEvent);

    public void Dispose() => _outputs.Dispose();
}
