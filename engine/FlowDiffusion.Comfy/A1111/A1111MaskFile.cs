namespace FlowDiffusion.Comfy.A1111;

/// <summary>An inpainting request's mask as stored for LoadImageMask (grey, white repaints) and what was computed from it.</summary>
/// <param name="Name">The upload folder's name of the grey PNG (A1111's <c>create_binary_mask</c> result).</param>
/// <param name="Width">The mask's width.</param>
/// <param name="Height">The mask's height.</param>
/// <param name="Region">"Only masked"'s region in the image (ends excluded), or null for the whole picture.</param>
public sealed record A1111MaskFile(string Name, int Width, int Height, (int X1, int Y1, int X2, int Y2)? Region);
