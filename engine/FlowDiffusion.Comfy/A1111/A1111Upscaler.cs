namespace FlowDiffusion.Comfy.A1111;

/// <summary>One of A1111's upscalers.</summary>
/// <param name="Name">A1111's name: None, Lanczos, Nearest, or a model's file name without extension.</param>
/// <param name="ModelFile">The model's file in <c>models/upscale_models</c> (UpscaleModelLoader's <c>model_name</c>); null for the built-in ones, and for a model name not yet looked up.</param>
public sealed record A1111Upscaler(string Name, string? ModelFile)
{
    /// <summary>
    /// The model's scale (its output over its input), once <see cref="A1111Jobs"/> has measured it; null for the built-in
    /// upscalers and a model whose scale could not be measured (it then runs once).
    /// </summary>
    public int? ModelScale { get; init; }
}
