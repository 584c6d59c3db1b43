using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>MangaLineExtraction's line drawing from <c>erika.pth</c>, converted to ONNX once and cached.</summary>
[Node("image.manga_lineart", "1.0.0", Category = "image/preprocessors", Title = "Manga Lineart",
    Description = "comfyui_controlnet_aux's Manga2Anime_LineArt_Preprocessor (variant aux) or sd-webui-controlnet's lineart_anime_denoise (variant webui): the 8-bit image scaled so its short side is the resolution (aux: rounded up to a multiple of 256) and padded to multiples of 64, OpenCV's grey of it through MangaLineExtraction's res_skip network (erika.pth, read from the .pth, converted to ONNX on first use), 255 − the line drawing as a byte (aux clips and truncates the line first, the extension after inverting: one level apart where the line has a fraction). White lines on black.")]
public sealed class ImageMangaLineartNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to draw lines from.")]
    public Image? Image { get; set; }

    /// <summary>The weights.</summary>
    [Parameter(Description = "MangaLineExtraction's weights (erika.pth of lllyasviel/Annotators, as comfyui_controlnet_aux and sd-webui-controlnet download it; .pth or .safetensors), relative to the working folder.")]
    public string Model { get; set; } = "models/annotators/erika.pth";

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution, the extension's Preprocessor Resolution); aux rounds it up to a multiple of 256 first. The map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>Whose pipeline.</summary>
    [Parameter(Description = "aux: comfyui_controlnet_aux's (the resolution rounded up to a multiple of 256; the line clipped and truncated, then inverted); webui: sd-webui-controlnet's lineart_anime_denoise (the resolution as given; the line inverted, then clipped and truncated).", Choices = ["aux", "webui"])]
    public string Variant { get; set; } = "aux";

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>The map.</summary>
    [Output(Description = "White lines on black, grey in all three channels, the short side at the (rounded) resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var variant = Variant switch
        {
            "aux" => MangaLineVariant.Aux,
            "webui" => MangaLineVariant.Extension,
            _ => throw new ArgumentException($"variant: '{Variant}' is not one of aux, webui"),
        };
        AnnotatorResolution.Check(context, image, MangaLines.DetectResolution(Resolution, variant));
        var network = AnnotatorGraphs.Open(context, Model, Provider, "manga_line",
            "MangaLineExtraction's erika.pth (lllyasviel/Annotators, which comfyui_controlnet_aux and sd-webui-controlnet download)",
            (weights, converting, limits) => AnnotatorModelCache.PrepareMangaLine(weights, AnnotatorModelCache.DefaultRoot, converting, limits), cancellationToken);
        Result = ControlImages.PerItemBytes(image, item => MangaLines.Apply(item, Resolution, variant, network), cancellationToken);
        return Task.CompletedTask;
    }
}
