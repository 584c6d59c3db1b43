namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>Whose Depth Anything pipeline around the network <see cref="DepthAnythingMap"/> follows.</summary>
public enum DepthAnythingVariant
{
    /// <summary>comfyui_controlnet_aux's DepthAnythingPreprocessor (the <c>.pth</c> detector it had until mid-2025).</summary>
    AuxV1,

    /// <summary>comfyui_controlnet_aux's DepthAnythingV2Preprocessor.</summary>
    AuxV2,

    /// <summary>sd-webui-controlnet's <c>depth_anything</c> and <c>depth_anything_v2</c> modules.</summary>
    Extension,
}
