using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// The intra-op thread count a session gets when none is set: one per physical core the process may run on. ONNX
/// Runtime's own default ran every session on one core of this 2-core VM (issue 17).
/// </summary>
public sealed class CpuCoresTests : IDisposable
{
    private readonly string _sysfs = Path.Combine(Path.GetTempPath(), "fd-cpucores-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Two_cores_without_smt_give_two_threads()
    {
        Cpu(0, package: 0, core: 0);
        Cpu(1, package: 0, core: 1);

        Assert.Equal(2, CpuCores.Count(_sysfs, [0, 1], limit: 2));
    }

    [Fact]
    public void Smt_siblings_count_once()
    {
        Cpu(0, 0, 0);
        Cpu(1, 0, 0);
        Cpu(2, 0, 1);
        Cpu(3, 0, 1);

        Assert.Equal(2, CpuCores.Count(_sysfs, [0, 1, 2, 3], limit: 4));
        // An affinity mask of one core's two siblings: one thread.
        Assert.Equal(1, CpuCores.Count(_sysfs, [2, 3], limit: 4));
    }

    [Fact]
    public void Equal_core_ids_in_two_packages_are_two_cores()
    {
        Cpu(0, 0, 0);
        Cpu(1, 1, 0);

        Assert.Equal(2, CpuCores.Count(_sysfs, [0, 1], limit: 2));
    }

    [Fact]
    public void Without_a_readable_topology_every_allowed_cpu_counts_up_to_the_quota()
    {
        Directory.CreateDirectory(_sysfs);

        Assert.Equal(3, CpuCores.Count(_sysfs, [0, 1, 2], limit: 8));
        Assert.Equal(2, CpuCores.Count(_sysfs, [0, 1, 2], limit: 2));
        Assert.Equal(1, CpuCores.Count(_sysfs, [], limit: 0));
    }

    [Fact]
    public void Default_options_give_one_thread_per_core_and_threads_sets_it()
    {
        using var defaults = OnnxSessionOptions.Cpu.CreateSessionOptions();
        using var three = OnnxSessionOptions.Parse("cpu:threads=3").CreateSessionOptions();

        Assert.Equal(CpuCores.ForThisProcess, OnnxSessionOptions.Cpu.Threads);
        Assert.InRange(OnnxSessionOptions.Cpu.Threads, 1, Environment.ProcessorCount);
        Assert.Equal(3, three.IntraOpNumThreads);
        Assert.Equal(3, OnnxSessionOptions.Parse("cpu:threads=3").Threads);
        Assert.Equal(3, OnnxSessionOptions.Parse("cuda", "threads=3").IntraOpThreads);
        Assert.False(OnnxSessionOptions.Parse("cuda", "threads=3").ProviderOptions.ContainsKey("threads"));
    }

    [Fact]
    public void The_threads_variable_sets_the_default_count_and_a_bad_value_is_refused_naming_it()
    {
        Assert.Equal(6, OnnxEnvironment.ThreadsFrom(null, 6));
        Assert.Equal(6, OnnxEnvironment.ThreadsFrom(" ", 6));
        Assert.Equal(1, OnnxEnvironment.ThreadsFrom("1", 6));
        Assert.Equal(12, OnnxEnvironment.ThreadsFrom(" 12 ", 6));
        foreach (var bad in new[] { "0", "-1", "two", "1025", "1.5" })
        {
            var error = Assert.Throws<InvalidOperationException>(() => OnnxEnvironment.ThreadsFrom(bad, 6));
            Assert.Contains("FLOWDIFFUSION_ORT_THREADS", error.Message, StringComparison.Ordinal);
            Assert.Contains($"'{bad}'", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("cpu:threads=0")]
    [InlineData("cpu:threads=-1")]
    [InlineData("cpu:threads=two")]
    [InlineData("cpu:threads=5000")]
    public void A_bad_thread_count_is_refused_by_name(string text)
    {
        var error = Assert.Throws<FormatException>(() => OnnxSessionOptions.Parse(text));

        Assert.Contains("threads", error.Message, StringComparison.Ordinal);
        Assert.Contains(text[(text.IndexOf('=') + 1)..], error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_sysfs))
        {
            Directory.Delete(_sysfs, recursive: true);
        }
    }

    private void Cpu(int cpu, int package, int core)
    {
        var topology = Path.Combine(_sysfs, $"cpu{cpu}", "topology");
        Directory.CreateDirectory(topology);
        File.WriteAllText(Path.Combine(topology, "physical_package_id"), $"{package}\n");
        File.WriteAllText(Path.Combine(topology, "core_id"), $"{core}\n");
    }
}
