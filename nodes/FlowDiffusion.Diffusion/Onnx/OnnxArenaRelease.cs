using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Asks the model runs of the work that follows to hand their CPU arena's free memory back to the system when they end
/// (ONNX Runtime's arena shrinkage). A session's arena keeps the largest working memory its runs needed, so after a
/// sampling loop the UNet's arena still holds a step's activations while the VAE decode, the largest single run, adds
/// its own: a sampler marks its last model evaluation with this, and the decode runs on memory the UNet gave back.
/// Runs on other providers are not affected. It pays only for large latents (<see cref="Pays"/>): the next run's first
/// step grows the arena again, which costs time. <see cref="Variable"/> overrides when: <c>always</c> or <c>never</c>.
/// </summary>
public static class OnnxArenaRelease
{
    /// <summary>ONNX Runtime's run option that shrinks the listed devices' arenas at the end of a run.</summary>
    internal const string RunConfigKey = "memory.enable_memory_arena_shrinkage";

    /// <summary>
    /// The environment variable that sets <see cref="Mode"/>: <c>auto</c> (the default), <c>always</c> or <c>never</c>.
    /// </summary>
    public const string Variable = "FLOWDIFFUSION_ARENA_RELEASE";

    /// <summary>The run metric that counts the model runs which released (<c>onnx_arena_releases</c>).</summary>
    public const string Metric = "onnx_arena_releases";

    private static readonly AsyncLocal<bool> Requested = new();

    private static readonly Lazy<OnnxArenaReleaseMode> Configured = new(() => ModeFrom(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>When samplers release, as <see cref="Variable"/> sets it.</summary>
    /// <exception cref="InvalidOperationException">The variable holds something else; the message names it.</exception>
    public static OnnxArenaReleaseMode Mode => Configured.Value;

    /// <summary>Reads the variable's value: null or empty gives <see cref="OnnxArenaReleaseMode.Auto"/>; case and spaces do not matter.</summary>
    /// <param name="value">The variable's value.</param>
    /// <exception cref="InvalidOperationException">Not <c>auto</c>, <c>always</c> or <c>never</c>; the message names the variable.</exception>
    public static OnnxArenaReleaseMode ModeFrom(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => OnnxArenaReleaseMode.Auto,
        "always" => OnnxArenaReleaseMode.Always,
        "never" => OnnxArenaReleaseMode.Never,
        _ => throw new InvalidOperationException($"The environment variable {Variable} must be auto, always or never, not '{value}'; unset it for auto (from 128×128 latents)."),
    };

    /// <summary>
    /// Whether releasing pays after a sampling loop over latents of <paramref name="shape"/>: from 128×128 latents a batch
    /// item (1024² images), where it lowered SDXL's peak by 1.2–2.0 GB; at 64×64 (SD 1.5 at 512²) and 96×96 (SDXL at 768²)
    /// the peak did not move (docs/benchmarks.md, "What moves SDXL's peak", "The arena release, repeated and at 768²").
    /// </summary>
    /// <param name="shape">The sampled latents' shape.</param>
    public static bool Pays(LatentShape shape) => (long)shape.Height * shape.Width >= 128 * 128;

    /// <summary>
    /// Whether a sampler over latents of <paramref name="shape"/> releases after its loop: as <see cref="Mode"/> says, and
    /// for <see cref="OnnxArenaReleaseMode.Auto"/> where it <see cref="Pays(LatentShape)"/>. Samplers ask before their
    /// first step, so that a bad <see cref="Variable"/> fails the run before it computes anything.
    /// </summary>
    /// <param name="shape">The sampled latents' shape.</param>
    /// <exception cref="InvalidOperationException"><see cref="Variable"/> holds something else; the message names it.</exception>
    public static bool AfterLoop(LatentShape shape) => AfterLoop(shape, Mode);

    /// <summary>Whether a sampler over latents of <paramref name="shape"/> releases after its loop under <paramref name="mode"/>.</summary>
    /// <param name="shape">The sampled latents' shape.</param>
    /// <param name="mode">When to release.</param>
    public static bool AfterLoop(LatentShape shape, OnnxArenaReleaseMode mode) => mode switch
    {
        OnnxArenaReleaseMode.Always => true,
        OnnxArenaReleaseMode.Never => false,
        _ => Pays(shape),
    };

    /// <summary>Whether the current work's runs release their arena's free memory when they end.</summary>
    public static bool IsRequested => Requested.Value;

    /// <summary>Marks the work that follows, up to the scope's end, as runs that release their arena's free memory.</summary>
    /// <returns>The scope; disposing it restores the previous state.</returns>
    public static Scope AfterRuns()
    {
        var previous = Requested.Value;
        Requested.Value = true;
        return new Scope(previous);
    }

    /// <summary>Restores the state that was current before <see cref="AfterRuns"/>.</summary>
    /// <param name="previous">The state to restore.</param>
    public readonly struct Scope(bool previous) : IDisposable
    {
        /// <summary>Restores the previous state.</summary>
        public void Dispose() => Requested.Value = previous;
    }
}
