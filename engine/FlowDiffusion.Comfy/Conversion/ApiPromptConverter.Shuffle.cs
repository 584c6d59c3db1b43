using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// The content shuffle and the extension's gaussian blur: comfyui_controlnet_aux's ShufflePreprocessor (image.shuffle with
/// numpy's default_rng(seed) on the padded image; seed 0, where aux draws from numpy's global generator in whatever state
/// the process left it, draws after np.random.seed(0) here), and sd-webui-controlnet's shuffle and blur_gaussian modules
/// under FlowDiffusion's own class names.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The class name of sd-webui-controlnet's shuffle (FlowDiffusion's own: <c>resolution</c>, <c>seed</c> — the numpy seed the extension sets — cropped before the warp).</summary>
    public const string A1111ShuffleClass = "A1111Shuffle";

    /// <summary>The class name of sd-webui-controlnet's blur_gaussian (FlowDiffusion's own: <c>resolution</c>, <c>sigma</c>).</summary>
    public const string A1111BlurGaussianClass = "A1111BlurGaussian";

    // ShufflePreprocessor → image.shuffle (default_rng(seed); seed 0: np.random.seed(0)).
    private ComfyValue[]? ShufflePreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = AuxResolution(id, inputs);
        var seed = Seed(id, inputs, "seed");
        if (image is null || resolution is null || seed is null) return null;
        var node = Add(id, null, "image.shuffle", [("image", image.Image)],
            [("resolution", resolution.Value), ("seed", seed.Value), ("generator", seed.Value == 0 ? "legacy" : "default_rng"), ("padded", true)]);
        return [new ImageValue($"{node}.result")];
    }

    // A1111Shuffle → image.shuffle with np.random.seed(seed), cropped before the warp.
    private ComfyValue[]? A1111Shuffle(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = Integer(id, inputs, "resolution", AuxDefaultResolution);
        var seed = Integer(id, inputs, "seed", 0);
        if (image is null || resolution is null || seed is null || !Within(id, "resolution", resolution.Value, 1, 16384) | !Within(id, "seed", seed.Value, 0, uint.MaxValue)) return null;
        var node = Add(id, null, "image.shuffle", [("image", image.Image)],
            [("resolution", resolution.Value), ("seed", seed.Value), ("generator", "legacy"), ("padded", false)]);
        return [new ImageValue($"{node}.result")];
    }

    // A1111BlurGaussian → image.blur_gaussian (OpenCV's blur of the scaled, cropped image).
    private ComfyValue[]? A1111BlurGaussian(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var resolution = Integer(id, inputs, "resolution", AuxDefaultResolution);
        var sigma = Number(id, inputs, "sigma", 9);
        if (image is null || resolution is null || sigma is null || !Within(id, "resolution", resolution.Value, 1, 16384) | !Within(id, "sigma", sigma.Value, 0.01, 64)) return null;
        var node = Add(id, null, "image.blur_gaussian", [("image", image.Image)], [("sigma", sigma.Value), ("resolution", resolution.Value)]);
        return [new ImageValue($"{node}.result")];
    }
}
