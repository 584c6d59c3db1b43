using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Per-step noise for a batch, one torch generator per image continuing after that image's initial noise — what
/// diffusers does with a list of generators, so ancestral samplers match it seed for seed.
/// </summary>
internal sealed class SeededNoise : INoiseSource
{
    private readonly TorchGenerator[] _generators;

    public SeededNoise(IReadOnlyList<ulong> seeds, int itemLength)
    {
        _generators = seeds.Select(s => new TorchGenerator(s)).ToArray();
        var skip = new float[itemLength];
        foreach (var generator in _generators) generator.FillStandardNormal(skip);
    }

    public void FillStandardNormal(Span<float> destination)
    {
        var item = destination.Length / _generators.Length;
        for (var i = 0; i < _generators.Length; i++)
            _generators[i].FillStandardNormal(destination.Slice(i * item, item));
    }
}
