using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.A1111.A1111InpaintingTests;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>
/// A1111's <c>inpainting_fill</c> 0 (fill), 2 (latent noise) and 3 (latent nothing): each request's image equals the
/// hand-written ComfyUI prompt (A1111MaskedFill before the encode; AddNoise or an empty latent composited under the
/// latent mask) posted to /prompt, and A1111MaskedFill itself equals tools/reference/make_masked_fill.py's bytes.
/// </summary>
public sealed class A1111InpaintingFillTests
{
    private static readonly SKColor Red = new(255, 0, 0), Blue = new(0, 0, 255), Green = new(0, 255, 0);

    [Fact]
    public async Task Whole_picture_fill_modes_equal_their_hand_written_ComfyUI_prompts_and_differ_from_original()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Png(64, 64, (x, y) => x < 32 ? (y < 32 ? Red : Green) : y < 32 ? Blue : SKColors.Yellow);
        var mask = Png(64, 64, (x, y) => x is >= 20 and < 44 && y is >= 20 and < 44 ? SKColors.White : SKColors.Black);
        await UploadAsync(host, "init.png", init);
        await UploadAsync(host, "mask.png", mask);
        var pixels = new Dictionary<int, byte[]>();
        foreach (var fill in new[] { 1, 0, 2, 3 })
        {
            var answer = await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject
            {
                ["mask_blur"] = 2, ["inpainting_fill"] = fill, ["inpaint_full_res"] = false,
            }));
            pixels[fill] = A1111Client.Pixels(A1111Client.Png(answer));
            var infotext = A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>();
            if (fill == 1)
            {
                Assert.DoesNotContain("Masked content", infotext);
                continue;
            }

            var content = fill switch { 0 => "fill", 2 => "latent noise", _ => "latent nothing" };
            Assert.Contains($"Denoising strength: 0.75, Mask blur: 2, Masked content: {content}, ", infotext);
            Assert.Equal(await A1111Client.ComfyPixelsAsync(host, WholePicture(fill)), pixels[fill]);
        }

        // Each fill changes the image; outside the blurred, doubled mask every one is the init image.
        Assert.NotEqual(pixels[1], pixels[0]);
        Assert.NotEqual(pixels[1], pixels[2]);
        Assert.NotEqual(pixels[1], pixels[3]);
        Assert.NotEqual(pixels[0], pixels[2]);
        Assert.NotEqual(pixels[0], pixels[3]);
        Assert.NotEqual(pixels[2], pixels[3]);
        var original = A1111Client.Pixels(init);
        foreach (var image in pixels.Values)
        {
            for (var y = 0; y < 64; y += 3)
            for (var x = 0; x < 64; x += 3)
            {
                if (x is >= 13 and < 51 && y is >= 13 and < 51) continue;
                Assert.Equal(Pixel(original, 64, x, y), Pixel(image, 64, x, y));
            }
        }

        // Wrong variants: the filled image pasted back (A1111 pastes the unfilled one); the fill through the doubled overlay
        // mask; another noise seed for the latent noise.
        var filledPaste = WholePicture(0);
        filledPaste["41"]!["inputs"]!["source"] = new JsonArray("29", 0);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, filledPaste), pixels[0]);
        var overlayFill = WholePicture(0);
        overlayFill["29"]!["inputs"]!["mask"] = new JsonArray("25", 0);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, overlayFill), pixels[0]);
        var otherNoise = WholePicture(2);
        otherNoise["52"]!["inputs"]!["noise_seed"] = 12;
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, otherNoise), pixels[2]);
    }

    [Fact]
    public async Task Latent_noise_is_drawn_once_per_batch_slot_as_A1111_draws_it_from_the_first_batchs_seeds()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Images.SolidPng(64, 64, Red, lowerHalf: Blue);
        var mask = Images.SolidPng(64, 64, SKColors.Black, lowerHalf: SKColors.White);
        await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject
        {
            ["inpainting_fill"] = 2, ["batch_size"] = 2, ["n_iter"] = 2, ["send_images"] = false,
        }));
        var history = JsonNode.Parse(await host.Client.GetStringAsync("/history?max_items=1"))!.AsObject();
        var graph = history.Single().Value!["prompt"]![2]!.AsObject();

        // Images 0 … 3 sample from seeds 11 … 14; their masked latents hold the noise of seeds 11, 12, 11, 12.
        for (var i = 0; i < 4; i++)
        {
            var sampler = graph[$"sample_{i}"]!["inputs"]!;
            Assert.Equal(11 + i, sampler["noise_seed"]!.GetValue<long>());
            var composite = Input(graph, sampler["latent_image"]!, "samples");
            var added = Input(graph, graph[composite]!["inputs"]!["source"]!, "noise");
            Assert.Equal("RandomNoise", graph[added]!["class_type"]!.GetValue<string>());
            Assert.Equal(11 + i % 2, graph[added]!["inputs"]!["noise_seed"]!.GetValue<long>());
        }
    }

    // The node linked at input `input` of the node `link` points to.
    private static string Input(JsonObject graph, JsonNode link, string input) => graph[link[0]!.GetValue<string>()]!["inputs"]![input]![0]!.GetValue<string>();

    [Fact]
    public async Task Only_masked_without_inpainting_fill_runs_A1111s_default_fill_on_the_cut_region()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Png(64, 64, (x, y) => x < 32 ? (y < 32 ? Red : Green) : y < 32 ? Blue : SKColors.Yellow);
        var mask = Png(64, 64, (x, y) => x is >= 24 and < 32 && y is >= 24 and < 32 ? SKColors.White : SKColors.Black);
        await UploadAsync(host, "init.png", init);
        await UploadAsync(host, "mask.png", mask);
        // inpainting_fill and inpaint_full_res left out: A1111 1.10's defaults, fill and only masked.
        var answer = await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject { ["mask_blur"] = 1, ["inpaint_full_res_padding"] = 4 }));
        var original = await A1111Client.GenerateAsync(host, "img2img", Body(init, mask, new JsonObject
        {
            ["mask_blur"] = 1, ["inpaint_full_res_padding"] = 4, ["inpainting_fill"] = 1,
        }));

        // The region (17, 17) 22 × 22 as in the only-masked test; the fill runs on the region resized to 64 × 64, through
        // the region's mask at that size.
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
              "33": { "class_type": "A1111MaskedFill", "inputs": { "image": ["12", 0], "mask": ["27", 0] } },
              "31": { "class_type": "InpaintModelConditioning", "inputs": { "positive": ["6", 0], "negative": ["7", 0], "vae": ["4", 2], "pixels": ["33", 0], "mask": ["27", 0], "noise_mask": false } },
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
        Assert.NotEqual(A1111Client.Pixels(A1111Client.Png(original)), pixels);
        Assert.Contains("Mask blur: 1, Inpaint area: Only masked, Masked area padding: 4, Masked content: fill, ", A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>());

        // The fill through the uncut mask's region in the full image is another image.
        var uncut = (JsonObject)comfy.DeepClone();
        uncut["33"]!["inputs"]!["image"] = new JsonArray("10", 0);
        uncut["33"]!["inputs"]!["mask"] = new JsonArray("23", 0);
        uncut["31"]!["inputs"]!["pixels"] = new JsonArray("34", 0);
        uncut["34"] = Prompts.Node("ImageScale", new JsonObject { ["image"] = new JsonArray("35", 0), ["upscale_method"] = "lanczos", ["width"] = 64, ["height"] = 64, ["crop"] = "disabled" });
        uncut["35"] = Prompts.Node("ImageCrop", new JsonObject { ["image"] = new JsonArray("33", 0), ["width"] = 22, ["height"] = 22, ["x"] = 17, ["y"] = 17 });
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, uncut), pixels);
    }

    [Theory]
    [InlineData("edge")]
    [InlineData("soft")]
    public async Task A1111MaskedFill_through_prompt_equals_the_reference_fill(string name)
    {
        await using var host = await ComfyHost.StartAsync();
        var entry = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "masked-fill.json"))).RootElement
            .GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        int width = entry.GetProperty("width").GetInt32(), height = entry.GetProperty("height").GetInt32();
        byte[] image = entry.GetProperty("image").GetBytesFromBase64(), mask = entry.GetProperty("mask").GetBytesFromBase64(), filled = entry.GetProperty("filled").GetBytesFromBase64();
        await UploadAsync(host, "fill-image.png", Png(width, height, (x, y) => new SKColor(image[3 * (y * width + x)], image[3 * (y * width + x) + 1], image[3 * (y * width + x) + 2])));
        await UploadAsync(host, "fill-mask.png", Png(width, height, (x, y) => new SKColor(mask[y * width + x], mask[y * width + x], mask[y * width + x])));

        var pixels = await A1111Client.ComfyPixelsAsync(host, Prompts.Parse("""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "fill-image.png" } },
              "2": { "class_type": "LoadImageMask", "inputs": { "image": "fill-mask.png", "channel": "red" } },
              "3": { "class_type": "A1111MaskedFill", "inputs": { "image": ["1", 0], "mask": ["2", 0] } },
              "4": { "class_type": "SaveImage", "inputs": { "images": ["3", 0], "filename_prefix": "fill" } }
            }
            """));

        for (var i = 0; i < width * height; i++)
        for (var c = 0; c < 3; c++)
            Assert.True(filled[3 * i + c] == pixels[4 * i + c], $"{name}: pixel ({i % width}, {i / width}) channel {c}: {pixels[4 * i + c]}, not {filled[3 * i + c]}");
    }

    [Fact]
    public async Task A1111MaskedFill_with_a_mask_of_another_size_fails_the_run_naming_the_mask()
    {
        await using var host = await ComfyHost.StartAsync();
        await UploadAsync(host, "fill-image.png", Images.SolidPng(16, 16, Red));
        await UploadAsync(host, "fill-mask.png", Images.SolidPng(8, 16, SKColors.White));
        var (status, body) = await host.PostPromptAsync(Prompts.Parse("""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "fill-image.png" } },
              "2": { "class_type": "LoadImageMask", "inputs": { "image": "fill-mask.png", "channel": "red" } },
              "3": { "class_type": "A1111MaskedFill", "inputs": { "image": ["1", 0], "mask": ["2", 0] } },
              "4": { "class_type": "SaveImage", "inputs": { "images": ["3", 0], "filename_prefix": "fill" } }
            }
            """));
        Assert.True(status == 200, body.ToJsonString());
        var entry = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal("error", entry["status"]!["status_str"]!.GetValue<string>());
        var error = entry["status"]!["messages"]!.AsArray().Single(m => m![0]!.GetValue<string>() == "execution_error")![1]!;
        Assert.Equal("A1111MaskedFill", error["node_type"]!.GetValue<string>());
        Assert.Contains("mask: 8x16 differs from the image's 16x16", error["exception_message"]!.GetValue<string>());
    }

    // The ComfyUI prompt of a whole-picture request (64 × 64 from seed 11, mask blurred by 2: radius 5, sigma 2 / 5) with
    // inpainting_fill 0, 2 or 3: the fill through the blurred mask; 3 composites an empty latent, 2 AddNoise's seed-11
    // noise at sigma 1, under the rounded latent mask.
    private static JsonObject WholePicture(int fill)
    {
        var prompt = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "a green ball" } },
              "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
              "10": { "class_type": "LoadImage", "inputs": { "image": "init.png" } },
              "20": { "class_type": "LoadImageMask", "inputs": { "image": "mask.png", "channel": "red" } },
              "22": { "class_type": "MaskToImage", "inputs": { "mask": ["20", 0] } },
              "23": { "class_type": "ImageBlur", "inputs": { "image": ["22", 0], "blur_radius": 5, "sigma": 0.4 } },
              "24": { "class_type": "ImageToMask", "inputs": { "image": ["23", 0], "channel": "red" } },
              "25": { "class_type": "MaskComposite", "inputs": { "destination": ["24", 0], "source": ["24", 0], "x": 0, "y": 0, "operation": "add" } },
              "26": { "class_type": "ImageScale", "inputs": { "image": ["23", 0], "upscale_method": "area", "width": 8, "height": 8, "crop": "disabled" } },
              "260": { "class_type": "ImageScale", "inputs": { "image": ["26", 0], "upscale_method": "nearest-exact", "width": 64, "height": 64, "crop": "disabled" } },
              "27": { "class_type": "ImageToMask", "inputs": { "image": ["260", 0], "channel": "red" } },
              "28": { "class_type": "ThresholdMask", "inputs": { "mask": ["27", 0], "value": 0.5 } },
              "29": { "class_type": "A1111MaskedFill", "inputs": { "image": ["10", 0], "mask": ["24", 0] } },
              "30": { "class_type": "InpaintModelConditioning", "inputs": { "positive": ["6", 0], "negative": ["7", 0], "vae": ["4", 2], "pixels": ["29", 0], "mask": ["24", 0], "noise_mask": false } },
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
        if (fill == 0) return prompt;
        prompt["50"] = Prompts.Node("EmptyLatentImage", new JsonObject { ["width"] = 64, ["height"] = 64, ["batch_size"] = 1 });
        JsonArray source = ["50", 0];
        if (fill == 2)
        {
            prompt["52"] = Prompts.Node("RandomNoise", new JsonObject { ["noise_seed"] = 11 });
            prompt["53"] = Prompts.Node("ManualSigmas", new JsonObject { ["sigmas"] = "1" });
            prompt["54"] = Prompts.Node("AddNoise", new JsonObject
            {
                ["model"] = new JsonArray("4", 0), ["noise"] = new JsonArray("52", 0), ["sigmas"] = new JsonArray("53", 0), ["latent_image"] = new JsonArray("50", 0),
            });
            source = ["54", 0];
        }

        prompt["51"] = Prompts.Node("LatentCompositeMasked", new JsonObject
        {
            ["destination"] = new JsonArray("30", 2), ["source"] = source, ["x"] = 0, ["y"] = 0, ["resize_source"] = false, ["mask"] = new JsonArray("28", 0),
        });
        prompt["31"]!["inputs"]!["samples"] = new JsonArray("51", 0);
        return prompt;
    }
}
