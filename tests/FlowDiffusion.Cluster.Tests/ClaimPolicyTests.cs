using FlowDiffusion.Cluster.Routing;

namespace FlowDiffusion.Cluster.Tests;

public sealed class ClaimPolicyTests
{
    private static readonly string[] Types = ["model.load@1.2.0", "sample@1.0.0"];

    private static WorkerCapabilities Worker(string id, string? loaded, string[] models, long memory = 8L << 30, string[]? types = null) =>
        new(id, models, loaded, new Dictionary<string, string> { ["sd"] = "1.0.0" }, types ?? Types, memory);

    private static WaitingRun Run(string id, string? model, long order, int priority = 0, long memory = 1L << 30, string[]? types = null) =>
        new(id, priority, order, new RunRequirements(model, types ?? Types, ["sd"], memory));

    [Fact]
    public void Worker_with_the_model_loaded_takes_its_run_before_older_runs_of_other_models()
    {
        var decision = ClaimPolicy.Choose(Worker("w1", "models/b", ["models/a", "models/b"]),
            [Run("r1", "models/a", 1), Run("r2", "models/a", 2), Run("r3", "models/b", 3)], []);
        Assert.Equal("r3", decision.Run?.Id);
        Assert.StartsWith("affinity", decision.Reason);
    }

    [Fact]
    public void Without_affinity_the_model_with_most_waiting_demand_is_loaded()
    {
        var decision = ClaimPolicy.Choose(Worker("w1", null, ["models/a", "models/b"]),
            [Run("r1", "models/a", 1), Run("r2", "models/b", 2), Run("r3", "models/b", 3)], []);
        Assert.Equal("r2", decision.Run?.Id);
    }

    [Fact]
    public void Runs_an_idle_worker_has_loaded_are_left_to_it_and_the_rest_is_served()
    {
        // w2 is idle with b loaded: it takes the b run at its next claim, so w1 loads a even though b is older.
        var decision = ClaimPolicy.Choose(Worker("w1", null, ["models/a", "models/b"]),
            [Run("r1", "models/b", 1), Run("r2", "models/a", 2)], [Worker("w2", "models/b", ["models/b"])]);
        Assert.Equal("r2", decision.Run?.Id);
    }

    [Fact]
    public void A_worker_is_never_idle_while_a_run_it_can_serve_waits_beyond_what_idle_workers_take()
    {
        // Two b runs and one idle worker with b loaded: one b run is unreserved, so w1 takes it (loading b).
        var decision = ClaimPolicy.Choose(Worker("w1", "models/a", ["models/a", "models/b"]),
            [Run("r1", "models/b", 1), Run("r2", "models/b", 2)], [Worker("w2", "models/b", ["models/b"])]);
        Assert.Equal("r1", decision.Run?.Id);
        // With only one b run, it is reserved for w2 and w1 waits, saying why.
        var reserved = ClaimPolicy.Choose(Worker("w1", "models/a", ["models/a", "models/b"]), [Run("r1", "models/b", 1)], [Worker("w2", "models/b", ["models/b"])]);
        Assert.Null(reserved.Run);
        Assert.Contains("idle worker that has its model loaded", reserved.Reason);
    }

    [Fact]
    public void Higher_priority_goes_first_even_against_affinity()
    {
        var decision = ClaimPolicy.Choose(Worker("w1", "models/a", ["models/a", "models/b"]),
            [Run("r1", "models/a", 1), Run("r2", "models/b", 2, priority: 5)], []);
        Assert.Equal("r2", decision.Run?.Id);
    }

    [Fact]
    public void Round_robin_baseline_takes_the_oldest_servable_run_whatever_is_loaded()
    {
        var worker = Worker("w1", "models/b", ["models/a", "models/b"]);
        var queue = new[] { Run("r0", "models/c", 0), Run("r1", "models/a", 1), Run("r2", "models/b", 2), Run("r3", "models/b", 3, priority: 1) };
        // Priority still first; then the oldest run it can serve, not the loaded model's (r2) or the most demanded.
        Assert.Equal("r3", ClaimPolicy.Choose(worker, queue, [], affinity: false).Run?.Id);
        Assert.Equal("r1", ClaimPolicy.Choose(worker, queue[..3], [], affinity: false).Run?.Id);
        Assert.Equal("r2", ClaimPolicy.Choose(worker, queue[..3], [], affinity: true).Run?.Id);
    }

    [Fact]
    public void Capability_filter_checks_model_node_types_plugins_and_memory()
    {
        var worker = Worker("w1", null, ["models/a"], memory: 2L << 30);
        Assert.Null(ClaimPolicy.Refusal(Run("r", "./models/a/", 1).Needs, worker));
        Assert.Equal("no models/b", ClaimPolicy.Refusal(Run("r", "models/b", 1).Needs, worker));
        Assert.Equal("no node type lora.apply@1.0.0", ClaimPolicy.Refusal(Run("r", "models/a", 1, types: [.. Types, "lora.apply@1.0.0"]).Needs, worker));
        Assert.Equal("2 GiB free, the run needs 3 GiB", ClaimPolicy.Refusal(Run("r", "models/a", 1, memory: 3L << 30).Needs, worker));
        Assert.Equal("no plugin extra", ClaimPolicy.Refusal(new RunRequirements("models/a", Types, ["sd", "extra"], 0), worker));
        // A run nobody can serve is never handed out, however empty the worker.
        Assert.Null(ClaimPolicy.Choose(worker, [Run("r1", "models/b", 1)], []).Run);
    }

    [Fact]
    public void A_waiting_run_says_which_capability_no_worker_has()
    {
        var workers = new[] { Worker("w1", null, ["models/a"]), Worker("w2", null, ["models/a", "models/c"]) };
        Assert.Equal("no worker has models/checkpoints/x.safetensors", ClaimPolicy.WhyWaiting(Run("r", "models/checkpoints/x.safetensors", 1), workers, 0));
        Assert.Equal("no worker has node type lora.apply@1.0.0", ClaimPolicy.WhyWaiting(Run("r", "models/a", 1, types: ["lora.apply@1.0.0"]), workers, 0));
        Assert.Equal("waiting for a free worker (2 of 2 busy)", ClaimPolicy.WhyWaiting(Run("r", "models/a", 1), workers, 2));
        Assert.Equal("no worker is connected", ClaimPolicy.WhyWaiting(Run("r", "models/a", 1), [], 0));
        Assert.StartsWith("no worker can serve it: w1: ", ClaimPolicy.WhyWaiting(Run("r", "models/a", 1, memory: 64L << 30), workers, 0));
    }
}
