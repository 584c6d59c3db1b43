namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A union ControlNet's (ControlNet++) control types by name, as ComfyUI's <c>comfy/cldm/control_types.py</c> lists them:
/// the index is the type's row in the model's <c>task_embedding</c> and its entry in <see cref="ControlNetModel"/>'s
/// one-hot <c>control_type</c>. "auto" (<see cref="Auto"/>) is no type.
/// </summary>
public static class UnionControlTypes
{
    /// <summary>The name of no control type.</summary>
    public const string Auto = "auto";

    /// <summary>The types in index order (promax's eight; the first release knows the first six).</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["openpose", "depth", "hed/pidi/scribble/ted", "canny/lineart/anime_lineart/mlsd", "normal", "segment", "tile", "repaint"];

    /// <summary>"auto", then <see cref="Names"/>: the choices of a control-type setting.</summary>
    public static IReadOnlyList<string> Choices { get; } = [Auto, .. Names];

    /// <summary>The index of <paramref name="name"/>, or null for "auto"; an unknown name is an <see cref="ArgumentException"/> naming <paramref name="parameter"/>.</summary>
    public static int? IndexOf(string name, string parameter)
    {
        if (name == Auto)
        {
            return null;
        }

        var index = Names.ToList().IndexOf(name);
        return index >= 0 ? index : throw new ArgumentException($"{parameter}: '{name}' is not a control type; use one of {string.Join(", ", Choices)}");
    }
}
