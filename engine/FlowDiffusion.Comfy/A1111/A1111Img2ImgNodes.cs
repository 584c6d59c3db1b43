using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The img2img part of an A1111 request's ComfyUI prompt, as A1111's <c>StableDiffusionProcessingImg2Img</c> runs it: the
/// init image brought to the size (<see cref="A1111ResizeModes"/>; mode 3 encodes it as it is and stretches the latent),
/// and with a mask the mask's chain (LoadImageMask, InvertMask, ImageBlur, the same geometry), InpaintModelConditioning
/// (what a 9-channel inpainting UNet reads), the latent mask (the processing mask averaged to latent size, rounded) as
/// the noise mask, and after each decode the paste back over the original through the blurred mask.
/// </summary>
internal sealed class A1111Img2ImgNodes(JsonObject prompt, A1111Request request, (string Name, int Width, int Height) init, A1111MaskFile? mask)
{
    private readonly JsonArray pixels = ["init_image", 0];
    private JsonArray processed = ["init_image", 0];
    private JsonArray? overlay;

    /// <summary>Adds the input nodes; returns the latent to sample and replaces the conditionings with InpaintModelConditioning's.</summary>
    public JsonArray Input(ref JsonArray positive, ref JsonArray negative)
    {
        var (width, height) = (request.Width, request.Height);
        prompt["init_image"] = Node("LoadImage", new JsonObject { ["image"] = init.Name });
        var region = mask?.Region;
        if (region is { } r)
        {
            // "Only masked": the region cut out, then resized and filled to the size (resize_image 2), whatever resize_mode.
            prompt["resize_region"] = Node("ImageCrop", new JsonObject { ["image"] = pixels.DeepClone(), ["width"] = r.X2 - r.X1, ["height"] = r.Y2 - r.Y1, ["x"] = r.X1, ["y"] = r.Y1 });
            processed = A1111ResizeModes.Add(prompt, "resize", ["resize_region", 0], 2, r.X2 - r.X1, r.Y2 - r.Y1, width, height);
        }
        else if (request.ResizeMode != 3)
        {
            processed = A1111ResizeModes.Add(prompt, "resize", ["init_image", 0], request.ResizeMode, init.Width, init.Height, width, height);
        }

        if (mask is null)
        {
            prompt["encode"] = Node("VAEEncode", new JsonObject { ["pixels"] = processed.DeepClone(), ["vae"] = new JsonArray("checkpoint", 2) });
            if (request.ResizeMode != 3 || (init.Width == width && init.Height == height)) return ["encode", 0];
            // "Just resize (latent upscale)": the image's latent stretched bilinearly (torch interpolate), as A1111's.
            prompt["resize_latent"] = Node("LatentUpscale", new JsonObject
            {
                ["samples"] = new JsonArray("encode", 0), ["upscale_method"] = "bilinear", ["width"] = width, ["height"] = height, ["crop"] = "disabled",
            });
            return ["resize_latent", 0];
        }

        var inpaint = request.Inpainting!;
        prompt["mask_load"] = Node("LoadImageMask", new JsonObject { ["image"] = mask.Name, ["channel"] = "red" });
        JsonArray chain = ["mask_load", 0];
        if (inpaint.Invert)
        {
            prompt["mask_invert"] = Node("InvertMask", new JsonObject { ["mask"] = chain });
            chain = ["mask_invert", 0];
        }

        if (inpaint.Blur > 0)
        {
            // cv2's kernel exp(−i²/2σ²) over |i| ≤ radius is ImageBlur's, whose taps lie on −1 … 1: sigma relative to the radius.
            var radius = A1111Inpainting.KernelRadius(inpaint.Blur);
            prompt["mask_blur_image"] = Node("MaskToImage", new JsonObject { ["mask"] = chain });
            prompt["mask_blur"] = Node("ImageBlur", new JsonObject { ["image"] = new JsonArray("mask_blur_image", 0), ["blur_radius"] = radius, ["sigma"] = (double)inpaint.Blur / radius });
            prompt["mask_blurred"] = Node("ImageToMask", new JsonObject { ["image"] = new JsonArray("mask_blur", 0), ["channel"] = "red" });
            chain = ["mask_blurred", 0];
        }

        prompt["mask_image"] = Node("MaskToImage", new JsonObject { ["mask"] = chain.DeepClone() });
        JsonArray resized;
        if (region is { } cut)
        {
            overlay = chain;
            prompt["mask_region"] = Node("ImageCrop", new JsonObject { ["image"] = new JsonArray("mask_image", 0), ["width"] = cut.X2 - cut.X1, ["height"] = cut.Y2 - cut.Y1, ["x"] = cut.X1, ["y"] = cut.Y1 });
            resized = A1111ResizeModes.Add(prompt, "mask_resize", ["mask_region", 0], 2, cut.X2 - cut.X1, cut.Y2 - cut.Y1, width, height);
        }
        else
        {
            resized = A1111ResizeModes.Add(prompt, "mask_resize", ["mask_image", 0], request.ResizeMode, mask.Width, mask.Height, width, height);
        }

        prompt["mask_resized"] = Node("ImageToMask", new JsonObject { ["image"] = resized.DeepClone(), ["channel"] = "red" });
        JsonArray imageMask = ["mask_resized", 0];
        if (region is null)
        {
            // The whole picture: A1111's overlay mask is the processing mask doubled, clipped at white.
            prompt["mask_overlay"] = Node("MaskComposite", new JsonObject { ["destination"] = imageMask.DeepClone(), ["source"] = imageMask.DeepClone(), ["x"] = 0, ["y"] = 0, ["operation"] = "add" });
            overlay = ["mask_overlay", 0];
        }

        // The latent mask: one value per 8 × 8 block (A1111 resizes the mask to the latent's size), given to the sampler as
        // blocks at the image's size, which its own reduction to the latent size leaves as they are.
        prompt["mask_latent_scale"] = Node("ImageScale", new JsonObject { ["image"] = resized, ["upscale_method"] = "area", ["width"] = width / 8, ["height"] = height / 8, ["crop"] = "disabled" });
        prompt["mask_latent_blocks"] = Node("ImageScale", new JsonObject { ["image"] = new JsonArray("mask_latent_scale", 0), ["upscale_method"] = "nearest-exact", ["width"] = width, ["height"] = height, ["crop"] = "disabled" });
        prompt["mask_latent"] = Node("ImageToMask", new JsonObject { ["image"] = new JsonArray("mask_latent_blocks", 0), ["channel"] = "red" });
        JsonArray latentMask = ["mask_latent", 0];
        if (inpaint.Round)
        {
            // np.around: above one half is 1, one half and below 0.
            prompt["mask_round"] = Node("ThresholdMask", new JsonObject { ["mask"] = latentMask, ["value"] = 0.5 });
            latentMask = ["mask_round", 0];
        }

        prompt["inpaint"] = Node("InpaintModelConditioning", new JsonObject
        {
            ["positive"] = positive, ["negative"] = negative, ["vae"] = new JsonArray("checkpoint", 2), ["pixels"] = processed.DeepClone(), ["mask"] = imageMask, ["noise_mask"] = false,
        });
        positive = ["inpaint", 0];
        negative = ["inpaint", 1];
        prompt["mask_noise"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = new JsonArray("inpaint", 2), ["mask"] = latentMask });
        return ["mask_noise", 0];
    }

    /// <summary>With a mask, adds image <paramref name="index"/>'s paste back over the original; returns the image to save.</summary>
    public JsonArray PasteBack(int index, JsonArray decoded)
    {
        if (overlay is null) return decoded;
        if (mask!.Region is { } r)
        {
            // Only masked: the result cropped and resized to the region (resize_image 1), pasted there through the blurred mask.
            var (width, height) = (r.X2 - r.X1, r.Y2 - r.Y1);
            var result = A1111ResizeModes.Add(prompt, $"paste_resize_{index}", decoded, 1, request.Width, request.Height, width, height);
            prompt["paste_mask"] = Node("CropMask", new JsonObject { ["mask"] = overlay.DeepClone(), ["x"] = r.X1, ["y"] = r.Y1, ["width"] = width, ["height"] = height });
            prompt[$"paste_{index}"] = Node("ImageCompositeMasked", new JsonObject
            {
                ["destination"] = pixels.DeepClone(), ["source"] = result, ["x"] = r.X1, ["y"] = r.Y1, ["resize_source"] = false, ["mask"] = new JsonArray("paste_mask", 0),
            });
        }
        else
        {
            // The resized original where the overlay mask is black, the result where it is white.
            prompt["paste_mask"] = Node("InvertMask", new JsonObject { ["mask"] = overlay.DeepClone() });
            prompt[$"paste_{index}"] = Node("ImageCompositeMasked", new JsonObject
            {
                ["destination"] = decoded, ["source"] = processed.DeepClone(), ["x"] = 0, ["y"] = 0, ["resize_source"] = false, ["mask"] = new JsonArray("paste_mask", 0),
            });
        }

        return [$"paste_{index}", 0];
    }

    private static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };
}
