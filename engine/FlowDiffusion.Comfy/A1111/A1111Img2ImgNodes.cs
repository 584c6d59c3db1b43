using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The img2img part of an A1111 request's ComfyUI prompt, as A1111's <c>StableDiffusionProcessingImg2Img</c> runs it: the
/// init image brought to the size (<see cref="A1111ResizeModes"/>; mode 3 encodes it as it is and stretches the latent),
/// and with a mask the mask's chain (LoadImageMask, InvertMask, ImageBlur, the same geometry), InpaintModelConditioning
/// (what a 9-channel inpainting UNet reads), the latent mask (the processing mask averaged to latent size, rounded) as
/// the noise mask, and after each decode the paste back over the original through the blurred mask. <c>inpainting_fill</c>
/// other than 1 first fills the masked pixels (A1111MaskedFill, A1111's <c>masking.fill</c>) before they are encoded;
/// 2 then puts seeded noise in the latent under the latent mask, 3 zeros.
/// </summary>
internal sealed class A1111Img2ImgNodes(JsonObject prompt, A1111Request request, (string Name, int Width, int Height) init, A1111MaskFile? mask)
{
    private readonly JsonArray pixels = ["init_image", 0];
    private JsonArray processed = ["init_image", 0];
    private JsonArray? overlay;
    private JsonArray? noiseFillMask;
    private JsonArray? sampled;

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

        var encoded = processed;
        if (inpaint.Fill != 1)
        {
            // Every fill but "original" paints the processed image's masked pixels first (masking.fill through the
            // processing mask); what is pasted back stays the unfilled image.
            prompt["mask_fill"] = Node(Conversion.ApiPromptConverter.A1111MaskedFillClass, new JsonObject { ["image"] = processed.DeepClone(), ["mask"] = imageMask.DeepClone() });
            encoded = ["mask_fill", 0];
        }

        prompt["inpaint"] = Node("InpaintModelConditioning", new JsonObject
        {
            ["positive"] = positive, ["negative"] = negative, ["vae"] = new JsonArray("checkpoint", 2), ["pixels"] = encoded.DeepClone(), ["mask"] = imageMask, ["noise_mask"] = false,
        });
        positive = ["inpaint", 0];
        negative = ["inpaint", 1];
        noiseFillMask = latentMask;
        JsonArray latent = ["inpaint", 2];
        if (inpaint.Fill == 3)
        {
            // "Latent nothing": the latent times (1 − latent mask), a composite with zeros through it.
            prompt["mask_fill_empty"] = Node("EmptyLatentImage", new JsonObject { ["width"] = width, ["height"] = height, ["batch_size"] = 1 });
            prompt["mask_fill_latent"] = Node("LatentCompositeMasked", new JsonObject
            {
                ["destination"] = latent, ["source"] = new JsonArray("mask_fill_empty", 0), ["x"] = 0, ["y"] = 0, ["resize_source"] = false, ["mask"] = latentMask.DeepClone(),
            });
            latent = ["mask_fill_latent", 0];
        }

        if (inpaint.Fill == 2) return latent;
        prompt["mask_noise"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = latent, ["mask"] = latentMask.DeepClone() });
        sampled = ["mask_noise", 0];
        return sampled;
    }

    /// <summary>
    /// The latent image <paramref name="index"/> samples: <see cref="Input"/>'s, or for "latent noise" (<c>inpainting_fill</c>
    /// 2) the latent with noise under the latent mask, drawn as A1111 draws it once for a batch: image i of every iteration
    /// gets the noise of all_seeds[i mod batch_size] (<paramref name="firstSeed"/> + that), the starting noise of that seed.
    /// </summary>
    public JsonArray LatentOf(int index, long firstSeed, JsonArray input)
    {
        if (sampled is not null || noiseFillMask is null) return input;
        var slot = index % request.BatchSize;
        var id = $"mask_noise_{slot}";
        if (prompt.ContainsKey(id)) return [id, 0];

        // A1111 adds create_random_tensors(seed) (unit noise where the model samples) to the scaled latent; ComfyUI's AddNoise
        // at sigma 1 on an empty latent gives that noise in LATENT's units (process_latent_out), whatever the model.
        prompt["mask_fill_empty"] ??= Node("EmptyLatentImage", new JsonObject { ["width"] = request.Width, ["height"] = request.Height, ["batch_size"] = 1 });
        prompt["mask_fill_sigma"] ??= Node("ManualSigmas", new JsonObject { ["sigmas"] = "1" });
        prompt[$"mask_fill_seed_{slot}"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = firstSeed + slot });
        prompt[$"mask_fill_noise_{slot}"] = Node("AddNoise", new JsonObject
        {
            ["model"] = new JsonArray("checkpoint", 0), ["noise"] = new JsonArray($"mask_fill_seed_{slot}", 0), ["sigmas"] = new JsonArray("mask_fill_sigma", 0),
            ["latent_image"] = new JsonArray("mask_fill_empty", 0),
        });
        prompt[$"mask_fill_latent_{slot}"] = Node("LatentCompositeMasked", new JsonObject
        {
            ["destination"] = new JsonArray("inpaint", 2), ["source"] = new JsonArray($"mask_fill_noise_{slot}", 0), ["x"] = 0, ["y"] = 0, ["resize_source"] = false,
            ["mask"] = noiseFillMask.DeepClone(),
        });
        prompt[id] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = new JsonArray($"mask_fill_latent_{slot}", 0), ["mask"] = noiseFillMask.DeepClone() });
        return [id, 0];
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
