namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>Whose pipeline around MangaLineExtraction's network <see cref="MangaLines"/> follows.</summary>
public enum MangaLineVariant
{
    /// <summary>comfyui_controlnet_aux's Manga2Anime_LineArt_Preprocessor: the resolution rounded up to a multiple of 256, the line clipped and truncated before 255 − it.</summary>
    Aux,

    /// <summary>sd-webui-controlnet's <c>lineart_anime_denoise</c>: the resolution as it is, 255 − the line clipped and truncated.</summary>
    Extension,
}
