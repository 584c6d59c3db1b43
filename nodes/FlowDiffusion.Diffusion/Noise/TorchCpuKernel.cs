namespace FlowDiffusion.Diffusion.Noise;

/// <summary>
/// Which of torch's CPU kernels for <c>randn</c> to reproduce. They draw the same uniforms but round the
/// Box–Muller transform differently, so the last bits of some values differ between machines.
/// </summary>
public enum TorchCpuKernel
{
    /// <summary>The AVX2 kernel (Cephes polynomials, fused multiply-adds) torch runs on any x86-64 CPU with AVX2.</summary>
    Avx2,

    /// <summary>
    /// The portable kernel torch runs without AVX2 (or with <c>ATEN_CPU_CAPABILITY=default</c>), built on the C
    /// library's <c>logf</c>, <c>cosf</c> and <c>sinf</c>; bit-exact where .NET uses the same C library (glibc on Linux).
    /// </summary>
    Default,
}
