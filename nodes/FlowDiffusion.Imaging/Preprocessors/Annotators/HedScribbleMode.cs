namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>Whether and where <see cref="HedEdges"/> turns its map into a fake scribble (<see cref="HedScribble"/>).</summary>
public enum HedScribbleMode
{
    /// <summary>The soft edges as they are.</summary>
    None,

    /// <summary>On the padded map, then cropped: comfyui_controlnet_aux's FakeScribblePreprocessor (HEDdetector's scribble).</summary>
    BeforeCrop,

    /// <summary>On the cropped map: sd-webui-controlnet's scribble_hed, which runs nms on what its hed module returns.</summary>
    AfterCrop,
}
