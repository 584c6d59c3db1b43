using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// comfyui_controlnet_aux's AIO_Preprocessor: <c>preprocessor</c> names one of aux's classes, which runs on the image with
/// the resolution and every other input at its default (aux reads them from the class's INPUT_TYPES); <c>none</c> passes
/// the image through. Here the named class is converted as if the prompt held it with only <c>image</c> and
/// <c>resolution</c>, so it gives the very graph the dedicated class gives with its defaults.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>aux's all-in-one preprocessor class.</summary>
    public const string AioPreprocessorClass = "AIO_Preprocessor";

    /// <summary>
    /// The names AIO_Preprocessor takes here: none, then aux's classes whose defaults FlowDiffusion runs (one line each; a
    /// class added to the converter joins by its name here). ShufflePreprocessor's default seed 0 draws
    /// from numpy's global generator in aux (no reproducible image); here after np.random.seed(0). Left out: OpenposePreprocessor (its defaults detect hands and
    /// faces), DWPreprocessor (its default pose estimator is a TorchScript file), InpaintPreprocessor (aux leaves it out),
    /// and aux's classes with no converter.
    /// </summary>
    public static IReadOnlyList<string> AioPreprocessors { get; } =
    [
        "none",
        "TilePreprocessor",
        "ColorPreprocessor",
        "BinaryPreprocessor",
        "LineartStandardPreprocessor",
        "Scribble_XDoG_Preprocessor",
        "ScribblePreprocessor",
        "CannyEdgePreprocessor",
        "ImageIntensityDetector",
        "ImageLuminanceDetector",
        "HEDPreprocessor",
        "FakeScribblePreprocessor",
        "PiDiNetPreprocessor",
        "LineArtPreprocessor",
        "AnimeLineArtPreprocessor",
        "M-LSDPreprocessor",
        "DepthAnythingPreprocessor",
        "DepthAnythingV2Preprocessor",
        "MiDaS-DepthMapPreprocessor",
        "MiDaS-NormalMapPreprocessor",
        "TEEDPreprocessor",
        "Manga2Anime_LineArt_Preprocessor",
        "BAE-NormalMapPreprocessor",
        "ShufflePreprocessor",
        "LeReS-DepthMapPreprocessor",
    ];

    // What an AIO_Preprocessor node becomes: the class it names and the inputs that class sees, or (Class null) the image
    // itself for none, null after an error.
    private sealed record AioCall(string? Class, JsonObject Inputs, ComfyValue[]? Passed);

    private AioCall AioPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var name = Choice(id, inputs, "preprocessor", "none", [.. AioPreprocessors]);
        var resolution = AuxResolution(id, inputs);
        if (image is null || name is null || resolution is null) return new(null, inputs, null);
        if (name == "none") return new(null, inputs, [image]);
        return new(name, new JsonObject { ["image"] = inputs["image"]!.DeepClone(), ["resolution"] = resolution.Value }, null);
    }

    // The named class's errors (its weights missing, its defaults refused) become errors of preprocessor, saying which class.
    private void NameAioPreprocessor(string id, string name)
    {
        if (!errors.TryGetValue(id, out var list)) return;
        for (var i = 0; i < list.Count; i++)
            list[i] = list[i] with { Details = $"preprocessor: '{name}' (with its defaults): {list[i].Details}", InputName = "preprocessor" };
    }
}
