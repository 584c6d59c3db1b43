using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111InpaintingTests
{
    private static readonly SKColor Red = new(255, 0, 0), Blue = new(0, 0, 255), Green = new(0, 255, 0);

    [Fact]
    public async Task Whole_picture_inpainting_equals_the_hand_written_ComfyUI_prompt_and_keeps_the_unmasked_pixels()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Images.SolidPng(64, 64, Red, lowerHalf: Blue);
        // White square 16 … 47; inverted, so everything around it is repainted.
        var mask = Png(64, 64, (x, y) => x is >= 16 and < 48 && y is >= 16 and < 48 ? SKColors.White : SKColors.Black);
        var answer = await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject
        {
            ["mask_blur"] = 2, ["inpainting_mask_invert"] = 1, ["inpainting_fill"] = 1, ["inpaint_full_res"] = false,
        }));
        await UploadAsync(host, "init.png", init);
        await UploadAsync(host, "mask.png", mask);

        // The ComfyUI prompt that does what A1111 does: the mask inverted, blurred with cv2's kernel (σ 2: radius
        // int(2.5 · 2 + 0.5) = 5, ImageBlur's sigma 2 / 5), doubled for the overlay, averaged to the latent size (and
        // given back as 8 × 8 blocks) and rounded; InpaintModelConditioning; the noise mask; steps from 6 − int(6 · 0.75) − 1 = 1; the original pasted back.
        var comfy = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "a green ball" } },
              "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
              "10": { "class_type": "LoadImage", "inputs": { "image": "init.png" } },
              "20": { "class_type": "LoadImageMask", "inputs": { "image": "mask.png", "channel": "red" } },
              "21": { "class_type": "InvertMask", "inputs": { "mask": ["20", 0] } },
              "22": { "class_type": "MaskToImage", "inputs": { "mask": ["21", 0] } },
              "23": { "class_type": "ImageBlur", "inputs": { "image": ["22", 0], "blur_radius": 5, "sigma": 0.4 } },
              "24": { "class_type": "ImageToMask", "inputs": { "image": ["23", 0], "channel": "red" } },
              "25": { "class_type": "MaskComposite", "inputs": { "destination": ["24", 0], "source": ["24", 0], "x": 0, "y": 0, "operation": "add" } },
              "26": { "class_type": "ImageScale", "inputs": { "image": ["23", 0], "upscale_method": "area", "width": 8, "height": 8, "crop": "disabled" } },
              "260": { "class_type": "ImageScale", "inputs": { "image": ["26", 0], "upscale_method": "nearest-exact", "width": 64, "height": 64, "crop": "disabled" } },
              "27": { "class_type": "ImageToMask", "inputs": { "image": ["260", 0], "channel": "red" } },
              "28": { "class_type": "ThresholdMask", "inputs": { "mask": ["27", 0], "value": 0.5 } },
              "30": { "class_type": "InpaintModelConditioning", "inputs": { "positive": ["6", 0], "negative": ["7", 0], "vae": ["4", 2], "pixels": ["10", 0], "mask": ["24", 0], "noise_mask": false } },
              "31": { "class_type": "SetLatentNoiseMask", "inputs": { "samples": ["30", 2], "mask": ["28", 0] } },
              "3": { "class_type": "KSamplerAdvanced", "inputs": { "model": ["4", 0], "positive": ["30", 0], "negative": ["30", 1], "latent_image": ["31", 0],
                     "add_noise": "enable", "noise_seed": 11, "steps": 6, "cfg": 1, "sampler_name": "euler", "scheduler": "normal",
                     "start_at_step": 1, "end_at_step": 10000, "return_with_leftover_noise": "disable" } },
              "8": { "class_type": "VAEDecode", "inputs": { "samples": ["3", 0], "vae": ["4", 2] } },
              "40": { "class_type": "InvertMask", "inputs": { "mask": ["25", 0] } },
              "41": { "class_type": "ImageCompositeMasked", "inputs": { "destination": ["8", 0], "source": ["10", 0], "x": 0, "y": 0, "resize_source": false, "mask": ["40", 0] } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["41", 0], "filename_prefix": "ComfyUI" } }
            }
            """);
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);

        // Inside the square, more than the kernel's radius from its edge, the overlay mask is 0: the init image, exactly.
        var original = A1111Client.Pixels(init);
        for (var y = 21; y <= 42; y++)
        for (var x = 21; x <= 42; x++)
            Assert.True(Pixel(pixels, 64, x, y) == Pixel(original, 64, x, y), $"({x}, {y}) changed");
        Assert.NotEqual(Pixel(original, 64, 2, 2), Pixel(pixels, 64, 2, 2));

        // Wrong variants: the mask not inverted; not blurred.
        var notInverted = (JsonObject)comfy.DeepClone();
        notInverted["22"]!["inputs"]!["mask"] = new JsonArray("20", 0);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, notInverted), pixels);
        var notBlurred = (JsonObject)comfy.DeepClone();
        notBlurred["23"]!["inputs"]!["image"] = new JsonArray("22", 0);
        notBlurred["24"]!["inputs"]!["image"] = new JsonArray("22", 0);
        notBlurred["26"]!["inputs"]!["image"] = new JsonArray("22", 0);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, notBlurred), pixels);
        Assert.Null(answer["parameters"]!["mask"]);
        var infotext = A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>();
        Assert.Contains("Denoising strength: 0.75, Mask mode: Inpaint not masked, Mask blur: 2, ", infotext);
        Assert.DoesNotContain("Inpaint area", infotext);
    }

    [Fact]
    public async Task Only_masked_cuts_the_blurred_masks_box_with_padding_and_pastes_the_result_back_there()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Png(64, 64, (x, y) => x < 32 ? (y < 32 ? Red : Green) : y < 32 ? Blue : SKColors.Yellow);
        var mask = Png(64, 64, (x, y) => x is >= 24 and < 32 && y is >= 24 and < 32 ? SKColors.White : SKColors.Black);
        // inpaint_full_res left out: A1111 1.10's default is "only masked".
        var answer = await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject
        {
            ["mask_blur"] = 1, ["inpaint_full_res_padding"] = 4, ["inpainting_fill"] = 1,
        }));
        await UploadAsync(host, "init.png", init);
        await UploadAsync(host, "mask.png", mask);

        // The blur (σ 1, radius 3) leaves 1s up to 3 pixels around the square 24 … 31: box 21 … 34, padded by 4 to
        // 17 … 38, already square: cut 22 × 22 at (17, 17), processed at 64 × 64, resized back and pasted there.
        var comfy = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "a green ball" } },
              "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
              "10": { "class_type": "LoadImage", "inputs": { "image": "init.png" } },
              "11": { "class_type": "ImageCrop", "inputs": { "image": ["10", 0], "width": 22, "height": 22, "x": 17, "y": 17 } },
              "12": { "class_type": "ImageScale", "inputs": { "image": ["11", 0], "upscale_method": "lanczos", "width": 64, "height": 64, "crop": "disabled" } },
              "20": { "class_type": "LoadImageMask", "inputs": { "image": "mask.png", "channel": "red" } },
              "21": { "class_type": "MaskToImage", "inputs": { "mask": ["20", 0] } },
              "22": { "class_type": "ImageBlur", "inputs": { "image": ["21", 0], "blur_radius": 3, "sigma": 0.3333333333333333 } },
              "23": { "class_type": "ImageToMask", "inputs": { "image": ["22", 0], "channel": "red" } },
              "25": { "class_type": "ImageCrop", "inputs": { "image": ["22", 0], "width": 22, "height": 22, "x": 17, "y": 17 } },
              "26": { "class_type": "ImageScale", "inputs": { "image": ["25", 0], "upscale_method": "lanczos", "width": 64, "height": 64, "crop": "disabled" } },
              "27": { "class_type": "ImageToMask", "inputs": { "image": ["26", 0], "channel": "red" } },
              "28": { "class_type": "ImageScale", "inputs": { "image": ["26", 0], "upscale_method": "area", "width": 8, "height": 8, "crop": "disabled" } },
              "280": { "class_type": "ImageScale", "inputs": { "image": ["28", 0], "upscale_method": "nearest-exact", "width": 64, "height": 64, "crop": "disabled" } },
              "29": { "class_type": "ImageToMask", "inputs": { "image": ["280", 0], "channel": "red" } },
              "30": { "class_type": "ThresholdMask", "inputs": { "mask": ["29", 0], "value": 0.5 } },
              "31": { "class_type": "InpaintModelConditioning", "inputs": { "positive": ["6", 0], "negative": ["7", 0], "vae": ["4", 2], "pixels": ["12", 0], "mask": ["27", 0], "noise_mask": false } },
              "32": { "class_type": "SetLatentNoiseMask", "inputs": { "samples": ["31", 2], "mask": ["30", 0] } },
              "3": { "class_type": "KSamplerAdvanced", "inputs": { "model": ["4", 0], "positive": ["31", 0], "negative": ["31", 1], "latent_image": ["32", 0],
                     "add_noise": "enable", "noise_seed": 11, "steps": 6, "cfg": 1, "sampler_name": "euler", "scheduler": "normal",
                     "start_at_step": 1, "end_at_step": 10000, "return_with_leftover_noise": "disable" } },
              "8": { "class_type": "VAEDecode", "inputs": { "samples": ["3", 0], "vae": ["4", 2] } },
              "40": { "class_type": "ImageScale", "inputs": { "image": ["8", 0], "upscale_method": "lanczos", "width": 22, "height": 22, "crop": "disabled" } },
              "41": { "class_type": "CropMask", "inputs": { "mask": ["23", 0], "x": 17, "y": 17, "width": 22, "height": 22 } },
              "42": { "class_type": "ImageCompositeMasked", "inputs": { "destination": ["10", 0], "source": ["40", 0], "x": 17, "y": 17, "resize_source": false, "mask": ["41", 0] } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["42", 0], "filename_prefix": "ComfyUI" } }
            }
            """);
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);

        // Outside the blurred mask's box nothing changes; inside the square the result shows.
        var original = A1111Client.Pixels(init);
        for (var y = 0; y < 64; y++)
        for (var x = 0; x < 64; x++)
        {
            if (x is >= 21 and < 35 && y is >= 21 and < 35) continue;
            Assert.True(Pixel(pixels, 64, x, y) == Pixel(original, 64, x, y), $"({x}, {y}) changed");
        }

        Assert.NotEqual(Pixel(original, 64, 28, 28), Pixel(pixels, 64, 28, 28));
        Assert.Contains("Mask blur: 1, Inpaint area: Only masked, Masked area padding: 4", A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>());

        // Without the padding the region is 14 × 14 at (21, 21): another image.
        var unpadded = (JsonObject)comfy.DeepClone();
        foreach (var id in new[] { "11", "25" }) (unpadded[id]!["inputs"]!["width"], unpadded[id]!["inputs"]!["height"], unpadded[id]!["inputs"]!["x"], unpadded[id]!["inputs"]!["y"]) = (14, 14, 21, 21);
        (unpadded["41"]!["inputs"]!["width"], unpadded["41"]!["inputs"]!["height"], unpadded["41"]!["inputs"]!["x"], unpadded["41"]!["inputs"]!["y"]) = (14, 14, 21, 21);
        (unpadded["40"]!["inputs"]!["width"], unpadded["40"]!["inputs"]!["height"]) = (14, 14);
        (unpadded["42"]!["inputs"]!["x"], unpadded["42"]!["inputs"]!["y"]) = (21, 21);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, unpadded), pixels);

        // A black mask leaves "only masked" nothing to cut: A1111 runs plain img2img.
        var blank = await A1111Client.GenerateAsync(host, "img2img", Body(init, Images.SolidPng(64, 64, SKColors.Black), new JsonObject { ["inpainting_fill"] = 1 }));
        var plain = await A1111Client.GenerateAsync(host, "img2img", Body(init, null, []));
        Assert.Equal(A1111Client.Pixels(A1111Client.Png(plain)), A1111Client.Pixels(A1111Client.Png(blank)));
        Assert.DoesNotContain("Inpaint area", A1111Client.Info(blank)["infotexts"]![0]!.GetValue<string>());
    }

    [Fact]
    public void A_mask_is_read_as_A1111s_create_binary_mask_reads_it()
    {
        // Opaque: Pillow's luma, (r · 19595 + g · 38470 + b · 7471 + 2¹⁵) >> 16 — 0.299 · 200 + 0.587 · 50 + 0.114 · 10 = 90.29.
        byte[] opaque = [200, 50, 10, 255, 255, 255, 255, 255, 0, 0, 0, 255];
        Assert.Equal([90, 255, 0], A1111Inpainting.Luma(opaque, 3, 1, round: true));
        // Any transparent pixel: the alpha is the mask, above 128 white when rounded, whatever the colour.
        byte[] alpha = [0, 0, 0, 100, 255, 255, 255, 129, 9, 9, 9, 128, 0, 0, 0, 255];
        Assert.Equal([0, 255, 0, 255], A1111Inpainting.Luma(alpha, 4, 1, round: true));
        Assert.Equal([100, 129, 128, 255], A1111Inpainting.Luma(alpha, 4, 1, round: false));
    }

    [Fact]
    public void Only_masked_regions_are_widened_to_the_sizes_ratio_inside_the_image()
    {
        // A 32 × 8 box in a 64 × 64 mask, processed at 64 × 64: heightened by 24 around its centre.
        var mask = new byte[64 * 64];
        for (var y = 30; y < 38; y++)
        for (var x = 16; x < 48; x++)
            mask[y * 64 + x] = 255;
        Assert.Equal((16, 18, 48, 50), A1111Inpainting.Region(mask, 64, 64, invert: false, blur: 0, padding: 0, 64, 64));
        // At the top edge the box is shifted down inside the image; for a 128 × 64 size it is widened instead.
        Assert.Equal((16, 0, 48, 32), A1111Inpainting.Region(Shifted(mask, -28), 64, 64, false, 0, 0, 64, 64));
        Assert.Equal((16, 30, 48, 38), A1111Inpainting.Region(mask, 64, 64, false, 0, 0, 256, 64));
        Assert.Equal((0, 0, 64, 64), A1111Inpainting.Region(mask, 64, 64, invert: true, 0, 0, 64, 64));
        Assert.Null(A1111Inpainting.Region(new byte[64 * 64], 64, 64, false, 4, 10, 64, 64));
        // σ 4 (radius 10) on one white pixel, rounded to 8 bits after each pass as cv2 does: the x pass leaves 25 at the
        // pixel and 1 out to 10 pixels, the y pass keeps what still rounds to 1 or more: 7 pixels each side (numpy, same definition).
        var dot = new byte[64 * 64];
        dot[32 * 64 + 32] = 255;
        Assert.Equal((25, 25, 40, 40), A1111Inpainting.Region(dot, 64, 64, false, 4, 0, 64, 64));

        static byte[] Shifted(byte[] mask, int rows) => [.. Enumerable.Range(0, mask.Length).Select(i => i / 64 - rows is var y and >= 0 and < 64 ? mask[y * 64 + i % 64] : (byte)0)];
    }

    [Fact]
    public async Task Resize_modes_crop_the_centre_fill_the_bars_with_the_edge_rows_and_stretch_the_latent()
    {
        await using var host = await ComfyHost.StartAsync();
        // 128 × 64 into 64 × 64. Crop and resize (1): scaled to cover (already), the centre kept: the green middle half.
        var thirds = Png(128, 64, (x, _) => x < 32 ? Red : x < 96 ? Green : Blue);
        var cropped = await ProcessedAsync(host, Body(thirds, null, new JsonObject { ["resize_mode"] = 1 }), "encode");
        Assert.All(Enumerable.Range(0, 64 * 64), i => Assert.Equal((0, 255, 0), Pixel(cropped, 64, i % 64, i / 64)));

        // Resize and fill (2): scaled to fit (64 × 32), centred at row 16, the first row stretched over rows 0 … 15 and the last over 48 … 63.
        var halves = Images.SolidPng(128, 64, Red, lowerHalf: Blue);
        var filled = await ProcessedAsync(host, Body(halves, null, new JsonObject { ["resize_mode"] = 2 }), "encode");
        for (var x = 0; x < 64; x++)
        {
            for (var y = 0; y < 20; y++) Assert.Equal((255, 0, 0), Pixel(filled, 64, x, y));
            for (var y = 44; y < 64; y++) Assert.Equal((0, 0, 255), Pixel(filled, 64, x, y));
        }

        // Just resize (latent upscale, 3): a 32 × 32 image encoded as it is, its latent stretched bilinearly to 64 × 64.
        var small = Images.SolidPng(32, 32, Red, lowerHalf: Blue);
        var answer = await A1111Client.GenerateAsync(host, "img2img", Body(small, null, new JsonObject { ["resize_mode"] = 3 }));
        await UploadAsync(host, "small.png", small);
        var comfy = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "a green ball" } },
              "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
              "10": { "class_type": "LoadImage", "inputs": { "image": "small.png" } },
              "11": { "class_type": "VAEEncode", "inputs": { "pixels": ["10", 0], "vae": ["4", 2] } },
              "12": { "class_type": "LatentUpscale", "inputs": { "samples": ["11", 0], "upscale_method": "bilinear", "width": 64, "height": 64, "crop": "disabled" } },
              "3": { "class_type": "KSamplerAdvanced", "inputs": { "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["12", 0],
                     "add_noise": "enable", "noise_seed": 11, "steps": 6, "cfg": 1, "sampler_name": "euler", "scheduler": "normal",
                     "start_at_step": 1, "end_at_step": 10000, "return_with_leftover_noise": "disable" } },
              "8": { "class_type": "VAEDecode", "inputs": { "samples": ["3", 0], "vae": ["4", 2] } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["8", 0], "filename_prefix": "ComfyUI" } }
            }
            """);
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);
        comfy["12"]!["inputs"]!["upscale_method"] = "nearest-exact";
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);

        // A mask of another size is brought to the size as the image is (here stretched, mode 0): its white left half stays
        // left, away from the Lanczos ringing around column 32.
        var mask = Png(32, 32, (x, _) => x < 16 ? SKColors.White : SKColors.Black);
        var stretched = await ProcessedAsync(host, Body(Images.SolidPng(64, 64, Red), mask, new JsonObject
        {
            ["inpaint_full_res"] = false, ["inpainting_fill"] = 1, ["mask_blur"] = 0,
        }), "mask_resized");
        for (var y = 0; y < 64; y++)
        {
            for (var x = 0; x < 24; x++) Assert.Equal((255, 255, 255), Pixel(stretched, 64, x, y));
            for (var x = 40; x < 64; x++) Assert.Equal((0, 0, 0), Pixel(stretched, 64, x, y));
        }
    }

    [Fact]
    public async Task An_inpainting_checkpoint_repaints_only_under_the_mask_and_the_rest_is_the_original()
    {
        await using var host = await ComfyHost.StartAsync();
        // analytic-sd-inpaint's x0 is mask · prompt colour + (1 − mask) · masked image, from InpaintModelConditioning's inputs.
        var body = Body(Images.SolidPng(64, 64, Red), Images.SolidPng(64, 64, SKColors.Black, lowerHalf: SKColors.White), new JsonObject
        {
            ["inpaint_full_res"] = false, ["inpainting_fill"] = 1, ["mask_blur"] = 0, ["denoising_strength"] = 1, ["prompt"] = "a blue ball",
        });
        body["override_settings"]!["sd_model_checkpoint"] = "analytic-sd-inpaint";
        var pixels = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "img2img", body)));
        for (var x = 0; x < 64; x += 7)
        {
            Assert.Equal((255, 0, 0), Pixel(pixels, 64, x, 10));
            var (r, g, b) = Pixel(pixels, 64, x, 54);
            Assert.True(r < 5 && g < 5 && b > 250, $"({x}, 54) = ({r}, {g}, {b})");
        }
    }

    [Fact]
    public async Task Bad_masks_and_unsupported_inpainting_fields_are_refused_by_name()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Images.SolidPng(64, 64, Red);
        var mask = Images.SolidPng(64, 64, SKColors.White);
        async Task Refused(JsonObject body, string field, string message)
        {
            var (status, answer) = await A1111Client.PostAsync(host, "img2img", body);
            Assert.True(status == 422, answer.ToJsonString());
            Assert.Equal(field, answer["field"]!.GetValue<string>());
            Assert.Contains(message, answer["detail"]!.GetValue<string>());
        }

        JsonObject With(byte[]? image, JsonObject fields, byte[]? initImage = null)
        {
            var body = Body(initImage ?? init, image, fields);
            if (!fields.ContainsKey("inpainting_fill")) body["inpainting_fill"] = 1;
            return body;
        }

        await Refused(With(null, new JsonObject { ["mask"] = "not base64!" }), "mask", "base64");
        await Refused(With(null, new JsonObject { ["mask"] = Convert.ToBase64String("hello"u8.ToArray()) }), "mask", "cannot be read");
        await Refused(With(null, new JsonObject { ["mask"] = 5 }), "mask", "base64 image");
        await Refused(With(Images.SolidPng(20_000, 2, SKColors.White), []), "mask", "a side may be at most");
        await Refused(With(Images.SolidPng(32, 64, SKColors.White), []), "mask", "must match");
        await Refused(With(mask, new JsonObject { ["inpainting_fill"] = 4 }), "inpainting_fill", "out of range");
        await Refused(With(mask, new JsonObject { ["mask_blur_x"] = 4, ["mask_blur_y"] = 2 }), "mask_blur_x", "send mask_blur");
        await Refused(With(mask, new JsonObject { ["mask_blur"] = 13 }), "mask_blur", "at most 12");
        await Refused(With(mask, new JsonObject { ["initial_noise_multiplier"] = 0.9 }), "initial_noise_multiplier", "only 1");
        await Refused(With(mask, new JsonObject { ["inpaint_full_res"] = "yes" }), "inpaint_full_res", "true or false");
        await Refused(With(mask, new JsonObject { ["resize_mode"] = 3, ["inpaint_full_res"] = false }, Images.SolidPng(32, 32, Red)), "resize_mode", "size");
        await Refused(Body(Images.SolidPng(36, 36, Red), null, new JsonObject { ["resize_mode"] = 3 }), "init_images[0]", "multiples of 8");
        await Refused(Body(init, null, new JsonObject { ["resize_mode"] = 4 }), "resize_mode", "out of range");
    }

    // An img2img request on tiny-sd at 64 × 64, 6 steps at 0.75 from seed 11; a null mask sends none.
    internal static JsonObject Body(byte[] init, byte[]? mask, JsonObject fields)
    {
        var body = new JsonObject
        {
            ["init_images"] = new JsonArray(Convert.ToBase64String(init)),
            ["prompt"] = "a green ball", ["steps"] = 6, ["denoising_strength"] = 0.75, ["cfg_scale"] = 1, ["width"] = 64, ["height"] = 64,
            ["seed"] = 11, ["sampler_name"] = "Euler", ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        };
        if (mask is not null) body["mask"] = "data:image/png;base64," + Convert.ToBase64String(mask);
        foreach (var (key, value) in fields) body[key] = value?.DeepClone();
        return body;
    }

    // Runs an A1111 request, then from its ComfyUI prompt in /history only what feeds the image input of node
    // `consumer` (its pixels, or a mask's image), saved: the geometry the request's nodes give, on the real server.
    private static async Task<byte[]> ProcessedAsync(ComfyHost host, JsonObject body, string consumer)
    {
        await A1111Client.GenerateAsync(host, "img2img", body);
        var history = JsonNode.Parse(await host.Client.GetStringAsync("/history?max_items=1"))!.AsObject();
        var graph = history.Single().Value!["prompt"]![2]!.AsObject();
        var inputs = graph[consumer]!["inputs"]!;
        var source = (inputs["pixels"] ?? inputs["image"])!.DeepClone();
        var kept = new JsonObject { ["out"] = Prompts.Node("SaveImage", new JsonObject { ["images"] = source, ["filename_prefix"] = "geometry" }) };
        var pending = new Stack<string>([source[0]!.GetValue<string>()]);
        while (pending.TryPop(out var id))
        {
            if (kept.ContainsKey(id)) continue;
            kept[id] = graph[id]!.DeepClone();
            foreach (var (_, value) in graph[id]!["inputs"]!.AsObject())
                if (value is JsonArray { Count: 2 } link && link[0] is JsonValue v && v.TryGetValue<string>(out var next)) pending.Push(next);
        }

        return await A1111Client.ComfyPixelsAsync(host, kept);
    }

    internal static async Task UploadAsync(ComfyHost host, string name, byte[] png)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(png), "image", name);
        form.Add(new StringContent("true"), "overwrite");
        (await host.Client.PostAsync("/upload/image", form)).EnsureSuccessStatusCode();
    }

    internal static (int R, int G, int B) Pixel(byte[] rgba, int width, int x, int y) =>
        (rgba[4 * (y * width + x)], rgba[4 * (y * width + x) + 1], rgba[4 * (y * width + x) + 2]);

    internal static byte[] Png(int width, int height, Func<int, int, SKColor> color)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            bitmap.SetPixel(x, y, color(x, y));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
