using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>Adds a preprocessor's ComfyUI nodes for <paramref name="image"/> (its resolution and slider values given) and returns the control image's link.</summary>
public delegate JsonArray A1111Preprocess(A1111ControlNetNodes nodes, JsonArray image, int resolution, double thresholdA, double thresholdB);

/// <summary>
/// Adds nodes that change a preprocessed image's size (<paramref name="size"/> before, given its first slider's value) and
/// returns the result's link and size, or null where it keeps the image as it is.
/// </summary>
public delegate (JsonArray Image, int Width, int Height)? A1111Resample(A1111ControlNetNodes nodes, JsonArray image, (int Width, int Height) size, double thresholdA);

/// <summary>
/// A preprocessor ("module") of the sd-webui-controlnet extension that FlowDiffusion runs, as ComfyUI nodes. Its name (and
/// label, the extension's alias) is what a unit's <c>module</c> takes; its sliders bound the unit's parameters and are
/// listed by <c>/controlnet/module_list</c>; <see cref="Run"/> builds it.
/// </summary>
/// <param name="Name">The extension's name (<c>module_list</c>).</param>
/// <param name="Label">The extension's label (<c>module_list?alias_names=true</c>).</param>
/// <param name="Priority">The extension's sorting priority (higher first, after none).</param>
/// <param name="Resolution">The resolution slider (<c>processor_res</c>).</param>
/// <param name="SliderA">The first slider (<c>threshold_a</c>).</param>
/// <param name="SliderB">The second slider (<c>threshold_b</c>).</param>
/// <param name="ScalesToResolution">Whether the extension's preprocessor first scales the image's short side to the resolution.</param>
/// <param name="Run">Builds the preprocessor.</param>
/// <param name="Available">Whether its files are there (annotator models); null when it needs none.</param>
/// <param name="ScalesItself">Whether <see cref="Run"/> scales to the resolution itself (comfyui_controlnet_aux's classes run the
/// extension's <c>resize_image_with_pad</c>, padding included), so no scaling node goes before it.</param>
/// <param name="Resample">Nodes after <see cref="Run"/> that change the image's size by what it is (tile_resample's down
/// sampling); null for none.</param>
public sealed record A1111ControlNetModule(
    string Name,
    string Label,
    int Priority,
    A1111ControlNetSlider Resolution,
    A1111ControlNetSlider SliderA,
    A1111ControlNetSlider SliderB,
    bool ScalesToResolution,
    A1111Preprocess Run,
    Func<ComfyFolders, bool>? Available = null,
    bool ScalesItself = false,
    A1111Resample? Resample = null)
{
    /// <summary>The visible sliders, as <c>module_detail</c> lists them.</summary>
    public JsonArray Sliders() => new([.. new[] { Resolution, SliderA, SliderB }.Where(s => s.Visible).Select(s => (JsonNode)s.ToJson())]);
}
