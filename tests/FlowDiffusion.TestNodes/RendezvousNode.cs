using FlowDiffusion.Sdk;

namespace FlowDiffusion.TestNodes;

[Node("test.rendezvous", "1.0.0", Category = "test",
    Description = "Waits until `parties` rendezvous nodes of the same group are executing at once, proving they run concurrently; fails after the timeout otherwise.")]
public sealed class RendezvousNode : INode
{
    private static readonly Dictionary<string, (int Arrived, TaskCompletionSource All)> Groups = new();

    [Input(Description = "The value.")]
    public double Value { get; set; }

    [Parameter(Description = "The group name.")]
    public string Group { get; set; } = "default";

    [Parameter(Description = "How many nodes must meet.", Min = 1, Max = 64)]
    public int Parties { get; set; } = 2;

    [Parameter(Description = "How long to wait, in milliseconds.", Min = 1)]
    public int TimeoutMs { get; set; } = 20_000;

    [Output(Description = "The value.")]
    public double Result { get; set; }

    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        TaskCompletionSource all;
        lock (Groups)
        {
            var key = context.RunId + "/" + Group;
            if (!Groups.TryGetValue(key, out var entry))
                entry = (0, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            entry.Arrived++;
            Groups[key] = entry;
            all = entry.All;
            if (entry.Arrived == Parties) all.TrySetResult();
        }
        var done = await Task.WhenAny(all.Task, Task.Delay(TimeoutMs, cancellationToken));
        if (done != all.Task) throw new TimeoutException($"only part of the {Parties} rendezvous nodes of group '{Group}' ran at the same time");
        Result = Value;
    }
}
