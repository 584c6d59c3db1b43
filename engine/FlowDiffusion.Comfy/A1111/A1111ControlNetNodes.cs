using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>Adds the ComfyUI nodes of one ControlNet unit (or one detect image) to a prompt, under ids that start with its prefix.</summary>
/// <param name="prompt">The ComfyUI API prompt.</param>
/// <param name="prefix">The unit's id prefix (<c>cn_0</c>).</param>
public sealed class A1111ControlNetNodes(JsonObject prompt, string prefix)
{
    /// <summary>
    /// The seed the extension gives numpy's global generator before a unit's preprocessor (its set_numpy_seed: seed + subseed,
    /// mod 2³²); null where it sets none (<c>/controlnet/detect</c>).
    /// </summary>
    public uint? NumpySeed { get; init; }

    /// <summary>Adds node <c>PREFIX_name</c> and returns the link to its output <paramref name="output"/>.</summary>
    public JsonArray Add(string name, string classType, JsonObject inputs, int output = 0)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var id = $"{prefix}_{name}";
        prompt[id] = new JsonObject { ["class_type"] = classType, ["inputs"] = inputs };
        return [id, output];
    }

    /// <summary>An ImageScale of <paramref name="image"/> (<c>crop</c> disabled or center) with A1111's rule for the method: area when the result has fewer pixels, else bicubic.</summary>
    public JsonArray Scale(string name, JsonArray image, (int Width, int Height) from, (int Width, int Height) to, bool centerCrop = false) =>
        Add(name, "ImageScale", new JsonObject
        {
            ["image"] = image, ["upscale_method"] = Method(from, to), ["width"] = to.Width, ["height"] = to.Height, ["crop"] = centerCrop ? "center" : "disabled",
        });

    /// <summary>cv2's choice in the extension: INTER_AREA to shrink, INTER_CUBIC otherwise (ComfyUI's area and bicubic).</summary>
    public static string Method((int Width, int Height) from, (int Width, int Height) to) =>
        (long)to.Width * to.Height < (long)from.Width * from.Height ? "area" : "bicubic";
}
