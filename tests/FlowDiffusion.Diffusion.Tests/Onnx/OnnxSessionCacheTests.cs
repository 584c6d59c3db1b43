using FlowDiffusion.Diffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class OnnxSessionCacheTests(AnalyticModels models) : IClassFixture<AnalyticModels>
{
    private string Decoder => Path.Combine(models.Default, "vae_decoder", "model.onnx");

    [Fact]
    public void Second_acquire_returns_the_cached_session_and_loads_once()
    {
        using var cache = FileSizeCharged();
        var loaded = new List<OnnxSessionEvent>();
        cache.Loaded += (_, e) => loaded.Add(e);

        InferenceSession first;
        using (var lease = cache.Acquire(Decoder))
        {
            first = lease.Session;
        }
        using var second = cache.Acquire(Decoder);

        Assert.Same(first, second.Session);
        var load = Assert.Single(loaded);
        Assert.Equal(Path.GetFullPath(Decoder), load.ModelPath);
        Assert.Equal(new FileInfo(Decoder).Length, load.Bytes);
        Assert.True(load.Elapsed > TimeSpan.Zero);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Different_options_get_their_own_session_and_equal_options_share_one()
    {
        using var cache = new OnnxSessionCache();

        using var defaults = cache.Acquire(Decoder, new OnnxSessionOptions());
        using var sameSpelledDifferently = cache.Acquire(Decoder, new OnnxSessionOptions("CPUExecutionProvider"));
        using var oneThread = cache.Acquire(Decoder, new OnnxSessionOptions(IntraOpThreads: 1));

        Assert.Same(defaults.Session, sameSpelledDifferently.Session);
        Assert.NotSame(defaults.Session, oneThread.Session);
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void Over_budget_the_least_recently_used_idle_session_is_unloaded()
    {
        var (a, b, c) = (models.LoneCopy(Decoder, "lru-a"), models.LoneCopy(Decoder, "lru-b"), models.LoneCopy(Decoder, "lru-c"));
        var size = new FileInfo(a).Length;
        using var cache = FileSizeCharged(2 * size);
        var unloaded = new List<string>();
        cache.Unloaded += (_, e) => unloaded.Add(e.ModelPath);

        cache.Acquire(a).Dispose();
        cache.Acquire(b).Dispose();
        cache.Acquire(a).Dispose(); // a is now more recent than b
        cache.Acquire(c).Dispose();

        Assert.Equal([b], unloaded);
        Assert.Equal(2 * size, cache.LoadedBytes);
    }

    [Fact]
    public void A_leased_session_is_never_unloaded_even_over_budget()
    {
        var (a, b, c) = (models.LoneCopy(Decoder, "lease-a"), models.LoneCopy(Decoder, "lease-b"), models.LoneCopy(Decoder, "lease-c"));
        var size = new FileInfo(a).Length;
        using var cache = FileSizeCharged(size);
        var unloaded = new List<string>();
        cache.Unloaded += (_, e) => unloaded.Add(e.ModelPath);

        var leaseA = cache.Acquire(a);
        using (cache.Acquire(b))
        {
            Assert.Empty(unloaded);
            Assert.Equal(2 * size, cache.LoadedBytes);
        }

        // Returning b's lease unloads nothing: the next session to be created makes the room.
        Assert.Empty(unloaded);
        Assert.Equal(Decode(leaseA.Session), Decode(leaseA.Session));
        leaseA.Dispose();
        Assert.Empty(unloaded);

        // c needs the room: both idle sessions go, least recently returned (b) first, and c alone fits.
        cache.Acquire(c).Dispose();
        Assert.Equal([b, a], unloaded);
        Assert.Equal(size, cache.LoadedBytes);
    }

    [Fact]
    public void A_session_over_the_budget_on_its_own_stays_loaded_between_its_runs_until_another_needs_the_room()
    {
        // An SDXL float32 UNet (9.6 GiB) under the 8 GiB default budget: a sampling loop returns the lease after every
        // step and takes it again for the next. It used to be unloaded at each return and created again for each step.
        var (unet, decoder) = (models.LoneCopy(Decoder, "big-unet"), models.LoneCopy(Decoder, "big-decoder"));
        var size = new FileInfo(unet).Length;
        using var cache = FileSizeCharged(size / 2);
        var loaded = new List<string>();
        var unloaded = new List<string>();
        cache.Loaded += (_, e) => loaded.Add(e.ModelPath);
        cache.Unloaded += (_, e) => unloaded.Add(e.ModelPath);

        InferenceSession? first = null;
        for (var step = 0; step < 4; step++)
        {
            using var lease = cache.Acquire(unet);
            first ??= lease.Session;
            Assert.Same(first, lease.Session);
        }
        Assert.Equal([unet], loaded);
        Assert.Empty(unloaded);
        Assert.Equal(size, cache.LoadedBytes);

        // The decoder is created after the loop: the idle UNet is unloaded before it, so the two are never charged together
        // beyond what was in use at once.
        cache.Acquire(decoder).Dispose();
        Assert.Equal([unet], unloaded);
        Assert.Equal([unet, decoder], loaded);
        Assert.Equal(size, cache.LoadedBytes);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Trim_unloads_idle_sessions_and_keeps_leased_ones()
    {
        var (a, b) = (models.LoneCopy(Decoder, "trim-a"), models.LoneCopy(Decoder, "trim-b"));
        using var cache = FileSizeCharged();
        var unloaded = new List<OnnxSessionEvent>();
        cache.Unloaded += (_, e) => unloaded.Add(e);

        using var held = cache.Acquire(a);
        cache.Acquire(b).Dispose();
        cache.Trim();

        var gone = Assert.Single(unloaded);
        Assert.Equal(b, gone.ModelPath);
        Assert.Equal(new FileInfo(b).Length, gone.Bytes);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Lowering_the_budget_unloads_idle_sessions_at_once()
    {
        using var cache = new OnnxSessionCache();
        var unloaded = 0;
        cache.Unloaded += (_, _) => unloaded++;
        cache.Acquire(Decoder).Dispose();

        cache.BudgetBytes = 0;

        Assert.Equal(1, unloaded);
        Assert.Equal(0, cache.LoadedBytes);
    }

    [Fact]
    public void Concurrent_acquires_of_one_model_load_it_once()
    {
        using var cache = new OnnxSessionCache();
        var loads = 0;
        cache.Loaded += (_, _) => Interlocked.Increment(ref loads);

        var sessions = new InferenceSession[8];
        Parallel.For(0, sessions.Length, i =>
        {
            using var lease = cache.Acquire(Decoder);
            sessions[i] = lease.Session;
        });

        Assert.Equal(1, loads);
        Assert.All(sessions, s => Assert.Same(sessions[0], s));
    }

    [Fact]
    public void A_throwing_loaded_handler_does_not_leave_the_session_leased()
    {
        using var cache = new OnnxSessionCache();
        var unloaded = 0;
        cache.Loaded += (_, _) => throw new InvalidOperationException("handler failed");
        cache.Unloaded += (_, _) => unloaded++;

        Assert.Throws<InvalidOperationException>(() => cache.Acquire(Decoder));

        // Trim unloads idle sessions only: a lease left open by the throw would keep the session.
        cache.Trim();
        Assert.Equal(1, unloaded);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Missing_model_file_error_names_the_file()
    {
        using var cache = new OnnxSessionCache();
        var missing = Path.Combine(models.Root, "nowhere", "model.onnx");

        var error = Assert.Throws<FileNotFoundException>(() => cache.Acquire(missing));

        Assert.Equal(missing, error.FileName);
        Assert.Contains(missing, error.Message);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Dispose_leaves_a_leased_session_to_its_last_lease_and_unloads_idle_ones_at_once()
    {
        var busyModel = models.LoneCopy(Decoder, "dispose-busy");
        var idleModel = models.LoneCopy(Decoder, "dispose-idle");
        var cache = FileSizeCharged();
        cache.Acquire(idleModel).Dispose();
        var first = cache.Acquire(busyModel);
        var second = cache.Acquire(busyModel);
        var before = Decode(first.Session);

        // A host shutting down while a run is still inside ONNX Runtime: the run's session must outlive the cache.
        cache.Dispose();

        Assert.Equal(1, cache.DisposedSessions);
        Assert.Equal(before, Decode(first.Session));
        first.Dispose();
        Assert.Equal(1, cache.DisposedSessions);
        Assert.Equal(before, Decode(second.Session));
        second.Dispose();
        Assert.Equal(2, cache.DisposedSessions);
        Assert.Throws<ObjectDisposedException>(() => cache.Acquire(busyModel));
    }

    [Fact]
    public void Acquire_after_dispose_is_refused()
    {
        var cache = new OnnxSessionCache();
        cache.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cache.Acquire(Decoder));
    }

    // Charges each session its file size alone, so budget arithmetic in these tests is exact; the measured charge has
    // its own tests (SessionMemoryTests).
    private static OnnxSessionCache FileSizeCharged(long budgetBytes = OnnxSessionCache.DefaultBudgetBytes) => new(budgetBytes, null, () => 0);

    private static float[] Decode(InferenceSession session)
    {
        using var latent = OrtValue.CreateTensorValueFromMemory(new float[] { 1f, 0f, 0f, 0f }, [1, 4, 1, 1]);
        using var results = session.Run(new RunOptions(), ["latent_sample"], [latent], ["sample"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
