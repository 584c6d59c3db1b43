using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The ControlNet content shuffle preprocessor, with numpy's generators so a seed gives the published annotator's image.</summary>
[Node("image.shuffle", "1.0.0", Category = "image/preprocessors", Title = "Content Shuffle",
    Description = "The ControlNet content shuffle (comfyui_controlnet_aux's ShufflePreprocessor, sd-webui-controlnet's shuffle), exactly: the 8-bit image scaled so its short side is the resolution (INTER_CUBIC up, INTER_AREA down) and padded to multiples of 64, then warped by two smooth noise fields (uniform draws on a 256-pixel grid, enlarged with INTER_CUBIC, stretched to the image's width and height) with OpenCV's bilinear remap. generator default_rng draws from numpy's np.random.default_rng(seed) (PCG64: aux with a seed above 0), legacy from np.random.seed(seed) (MT19937: seeds below 2³²; the extension seeds it from the generation's seed). padded: the padded image is warped, as aux does (the extension warps the cropped one). Every image of a batch gets the same fields.")]
public sealed class ImageShuffleNode : INode
{
    /// <summary>The generators.</summary>
    public static readonly string[] Generators = ["default_rng", "legacy"];

    /// <summary>The images.</summary>
    [Input(Description = "The images to shuffle.")]
    public Image? Image { get; set; }

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to first (aux's resolution); the result has that size.", Min = 1, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The seed.</summary>
    [Parameter(Description = "numpy's seed: any 64-bit value for default_rng, below 2³² for legacy.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; } = 1;

    /// <summary>The generator.</summary>
    [Parameter(Description = "default_rng: np.random.default_rng(seed), as aux draws for a seed above 0; legacy: np.random.seed(seed) then np.random.uniform, as the extension (and aux's seed 0, from whatever state numpy's global generator is in) draws.", Choices = ["default_rng", "legacy"])]
    public string Generator { get; set; } = "default_rng";

    /// <summary>Whether the padded image is warped.</summary>
    [Parameter(Description = "Warp the image padded to multiples of 64 and crop after (aux), rather than the scaled image itself (sd-webui-controlnet).")]
    public bool Padded { get; set; } = true;

    /// <summary>The shuffled images.</summary>
    [Output(Description = "The shuffled images, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (Resolution < 1) throw new ArgumentException($"resolution must be at least 1; got {Resolution}");
        if (Array.IndexOf(Generators, Generator) < 0) throw new ArgumentException($"generator must be one of {string.Join(", ", Generators)}; got '{Generator}'");
        if (Generator == "legacy" && Seed > uint.MaxValue) throw new ArgumentException($"seed: np.random.seed takes 0 … 4294967295; got {Seed} (use generator default_rng for larger seeds)");
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => ContentShuffle.Apply(item, Resolution, Padded, Uniform(), cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }

    // A fresh generator for each image: aux seeds one per call, and the extension's call sees the one numpy seed.
    private Func<double> Uniform() => Generator == "legacy" ? new NumpyRandomState((uint)Seed).NextDouble : new NumpyPcg64(Seed).NextDouble;
}
