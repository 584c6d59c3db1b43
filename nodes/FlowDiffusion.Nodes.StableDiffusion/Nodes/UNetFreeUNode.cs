using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// FreeU (Si et al.), as ComfyUI's FreeU (version 1) and FreeU_V2 (version 2): the UNet handle with the factors its graph's
/// FreeU inputs take on every call (plain, ControlNet, IP-Adapter, every guidance batch).
/// </summary>
[Node("unet.freeu", "1.0.0", Category = "model_patches", Title = "FreeU",
    Description = "FreeU, as ComfyUI's FreeU (version 1) and FreeU_V2 (version 2): before each decoder concatenation whose backbone has model_channels × 4 channels (b1, s1) or × 2 (b2, s2), the first half of the backbone's channels is multiplied by b (version 2: by (b − 1)·m + 1, m the backbone's channel mean rescaled to [0, 1] per image) and the skip's lowest frequencies (the 2×2 box around zero in the centred spectrum) by s. FreeU_V2's defaults are b1 1.3, b2 1.4, s1 0.9, s2 0.2. b = s = 1 in version 1 is the plain UNet. Needs a model model.load converted (every UNet graph it builds takes the factors); another unet.freeu downstream replaces these factors.")]
public sealed class UNetFreeUNode : INode
{
    private const double Largest = 10;

    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to apply FreeU to (model.load's unet, or one lora.apply changed).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>The backbone factor at model_channels × 4.</summary>
    [Parameter(Description = "Backbone factor where the decoder's features are model_channels × 4 wide (1280 in SD 1.x and SDXL).", Min = 0, Max = Largest, Step = 0.01)]
    public double B1 { get; set; } = 1.1;

    /// <summary>The backbone factor at model_channels × 2.</summary>
    [Parameter(Description = "Backbone factor where the decoder's features are model_channels × 2 wide (640).", Min = 0, Max = Largest, Step = 0.01)]
    public double B2 { get; set; } = 1.2;

    /// <summary>The skip's low-frequency factor at model_channels × 4.</summary>
    [Parameter(Description = "Factor of the skip connection's lowest frequencies where the backbone is model_channels × 4 wide.", Min = 0, Max = Largest, Step = 0.01)]
    public double S1 { get; set; } = 0.9;

    /// <summary>The skip's low-frequency factor at model_channels × 2.</summary>
    [Parameter(Description = "Factor of the skip connection's lowest frequencies where the backbone is model_channels × 2 wide.", Min = 0, Max = Largest, Step = 0.01)]
    public double S2 { get; set; } = 0.2;

    /// <summary>1: FreeU; 2: FreeU_V2.</summary>
    [Parameter(Description = "1: FreeU (the backbone times b); 2: FreeU_V2 (times b weighted by the backbone's normalised mean).", Min = 1, Max = 2)]
    public int Version { get; set; } = 1;

    /// <summary>The UNet with FreeU.</summary>
    [Output(Description = "The UNet with FreeU's factors applied on every call.")]
    public IUNetModel? UnetOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in new[] { ("b1", B1), ("b2", B2), ("s1", S1), ("s2", S2) })
        {
            if (!(value is >= 0 and <= Largest))
            {
                throw new ArgumentException($"{name} must be 0 … {Largest}; got {value}");
            }
        }

        if (Version is not (1 or 2))
        {
            throw new ArgumentException($"version must be 1 (FreeU) or 2 (FreeU_V2); got {Version}");
        }

        var unet = Unet as OnnxUNetModel
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) is not one model.load loaded, so FreeU cannot be applied to it.");
        UnetOut = unet.WithFreeU(new FreeUFactors(Version, (float)B1, (float)B2, (float)S1, (float)S2));
        return Task.CompletedTask;
    }
}
