using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Backend;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Imaging;
using FlowDiffusion.Server;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// Runs A1111's txt2img and img2img: each request becomes a ComfyUI API prompt (<see cref="A1111Prompt"/>) converted with
/// A1111's prompt syntax and queued through <see cref="ComfyPrompts"/> — the same queue, history, interrupt, limits and
/// errors as a ComfyUI client's — then followed to its end and answered in A1111's shape. Keeps the progress of the job
/// that runs for <c>/sdapi/v1/progress</c>.
/// </summary>
public sealed class A1111Jobs(ComfyPrompts prompts, ComfyFolders folders, A1111Settings settings, IOptions<FlowDiffusionOptions> engine, IOptions<ServerOptions> server)
{
    private readonly object gate = new();
    private Job? current;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, DateTime Written), int> scales = new();

    /// <summary>The largest request body: an init image and a mask of the upload limit each, base64, and the fields around them.</summary>
    public long MaxBodyBytes => 2 * (server.Value.MaxUploadBytes / 3 * 4) + (1 << 20);

    /// <summary>The limits of an image a request sends or asks for: the engine's image limits and the upload limit.</summary>
    public ImageLimits ImageLimits => new() { MaxPixels = engine.Value.MaxImagePixels, MaxDimension = engine.Value.MaxImageDimension, MaxFileBytes = server.Value.MaxUploadBytes };

    /// <summary>The model folders the layer's names resolve in.</summary>
    public ComfyFolders Folders => folders;

    /// <summary>The checkpoint names A1111 lists (ComfyUI's ckpt_name values).</summary>
    public IReadOnlyList<string> Checkpoints => folders.Checkpoints();

    /// <summary>The model.load path of a checkpoint name, or null.</summary>
    public string? PathOf(string checkpoint) => folders.ResolveCheckpoint(checkpoint);

    /// <summary>
    /// The checkpoint a name given to A1111 means: a listed name, the same without its extension, or an A1111 title with a
    /// trailing " [hash]"; throws naming <paramref name="field"/> for one that is not there.
    /// </summary>
    public string ResolveCheckpoint(string name, string field)
    {
        var all = Checkpoints;
        var bare = name.EndsWith(']') && name.LastIndexOf(" [", StringComparison.Ordinal) is > 0 and var at ? name[..at] : name;
        return all.FirstOrDefault(c => c == bare)
               ?? all.FirstOrDefault(c => Path.GetFileNameWithoutExtension(c) == bare || c == Path.GetFileNameWithoutExtension(bare))
               ?? throw new A1111RequestException(404, field, $"'{name}' is not a checkpoint here; use one of {string.Join(", ", all.Select(c => $"'{c}'"))} (GET /sdapi/v1/sd-models)");
    }

    /// <summary>The checkpoint requests use when they name none: the one set through the options, else the first listed, or null.</summary>
    public string? DefaultCheckpoint => settings.Checkpoint is { } set && Checkpoints.Contains(set) ? set : Checkpoints.FirstOrDefault();

    /// <summary>Runs a txt2img (<paramref name="img2img"/> false) or img2img request to its end; returns A1111's answer.</summary>
    public async Task<JsonObject> GenerateAsync(JsonNode? body, bool img2img, CancellationToken cancellationToken)
    {
        var request = A1111Request.Parse(body, img2img);
        // A module whose annotator file is not in models/annotators is refused naming the unit's module, as /controlnet/detect does.
        foreach (var unit in request.ControlNet.Where(u => !(u.Module.Available?.Invoke(folders) ?? true)))
            throw new A1111RequestException(422, unit.Field + ".module",
                $"'{unit.Module.Label}'{(unit.Module.Name == unit.Module.Label ? "" : $" ({unit.Module.Name})")}: module not available (its annotator file is not in models/annotators); use one of {string.Join(", ", A1111ControlNetModules.Sorted(folders).Select(m => m.Name))} (GET /controlnet/module_list)");
        if (request.Hires is { ImageUpscaler: { } upscaler } hires)
            request = request with { Hires = hires with { ImageUpscaler = await ResolveUpscalerAsync(upscaler.Name, "hr_upscaler", cancellationToken) } };
        var checkpoint = request.CheckpointOverride is { } named ? ResolveCheckpoint(named, "override_settings.sd_model_checkpoint")
            : DefaultCheckpoint ?? throw new A1111RequestException(404, "override_settings.sd_model_checkpoint", "there are no checkpoints in models/ (GET /sdapi/v1/sd-models)");
        var clipSkip = request.ClipSkipOverride ?? settings.ClipSkip;
        // A1111's random seed: below 2³² − 2.
        var seed = request.Seed == -1 ? Random.Shared.NextInt64(4294967294) : request.Seed;
        var init = request.InitImage is { } encoded ? SaveInitImage(encoded) : ((string, int, int)?)null;
        var mask = request.Inpainting is not null && init is { } initImage ? SaveMask(request, initImage) : null;
        // "Only masked" with nothing to repaint runs as plain img2img, and A1111 then leaves "Inpaint area" (and, filling
        // nothing, "Masked content") out of the infotext.
        if (request.Inpainting is { OnlyMasked: true } blank && mask is null) request = request with { Inpainting = blank with { OnlyMasked = false, Fill = 1 } };
        if (init is { } source && request.ResizeMode == 3 && mask?.Region is null && (source.Item2 % 8 != 0 || source.Item3 % 8 != 0))
            throw new A1111RequestException(422, "init_images[0]", $"is {source.Item2}x{source.Item3}: resize_mode 3 (latent upscale) encodes it as it is, so its sides must be multiples of 8 (ComfyUI's VAEEncode crops them, A1111's does not)");
        var available = ObjectInfo.Files(folders, "loras");
        var loras = request.Loras.Select(l => available.FirstOrDefault(f => Path.GetFileNameWithoutExtension(f) == l.Name || Path.ChangeExtension(f, null) == l.Name)
            ?? throw new A1111RequestException(404, "prompt", $"<lora:{l.Name}>: no such LoRA in models/loras (GET /sdapi/v1/loras)")).ToList();
        var graph = A1111Prompt.Build(request, checkpoint, clipSkip, seed, init, loras, mask);
        A1111ControlNet.AddTo(graph, [.. request.ControlNet.Select(u => ControlNetInput(u, init))], request.Width, request.Height,
            request.Hires is { } hiresFix ? (hiresFix.Width, hiresFix.Height) : null, A1111ControlNet.NumpySeed(seed));
        var queued = await QueueAsync(graph, (id, input) => A1111ControlNet.FieldFor(id, request.ControlNet) ?? A1111Prompt.FieldFor(id, input), cancellationToken);
        var images = request.BatchSize * request.Iterations;
        await FollowAsync(queued, images, request.Steps, cancellationToken);
        var info = A1111Infotext.Info(request, checkpoint, clipSkip, seed, DateTimeOffset.Now);
        var texts = info["infotexts"]!.AsArray();
        var answer = new JsonArray();
        for (var i = 0; i < images && request.SendImages; i++)
        {
            // An interrupted request answers with the images that were finished, as A1111 answers with what it has.
            if (await OutputPngAsync(queued, A1111Prompt.SaveId(i), cancellationToken) is not { } output) continue;
            answer.Add(Convert.ToBase64String(PreviewPng.WithText(output, "parameters", texts[i]!.GetValue<string>())));
        }

        // The extension appends each unit's control image (its detected map) after the images: with the hires fix the one at
        // the hires size first, then the one at the first pass's.
        for (var i = 0; i < request.ControlNet.Count && request.SendImages; i++)
        {
            if (!request.ControlNet[i].SaveDetectedMap) continue;
            foreach (var id in request.Hires is null ? [A1111ControlNet.MapId(i)] : new[] { A1111ControlNet.HiresMapId(i), A1111ControlNet.MapId(i) })
            {
                if (await OutputPngAsync(queued, id, cancellationToken) is { } map) answer.Add(Convert.ToBase64String(map));
            }
        }

        return new JsonObject { ["images"] = answer, ["parameters"] = request.Parameters, ["info"] = info.ToJsonString() };
    }

    /// <summary>
    /// Follows a queued run of <paramref name="images"/> images (whose save nodes are <see cref="A1111Prompt.SaveId"/>'s)
    /// to its end as the job <c>/sdapi/v1/progress</c> reports, with the sampler's steps of <paramref name="steps"/> (0: a
    /// run without a sampler, the extras); returns whether it was interrupted and throws
    /// <see cref="A1111RunFailedException"/> for one that failed.
    /// </summary>
    internal async Task<bool> FollowAsync(ComfyPrompt queued, int images, int steps, CancellationToken cancellationToken)
    {
        var job = new Job(queued, images, steps);
        lock (gate) current = job;
        try
        {
            // The ComfyUI layer follows the run (one subscription, as for any prompt) and records its progress and end.
            while (!queued.Finished) await Task.Delay(20, cancellationToken);
        }
        finally
        {
            job.Ended = true;
        }

        return job.Interrupted = Interrupted(queued);
    }

    /// <summary>A1111's progress answer for the job that runs (or the last one): progress, eta_relative, state, current_image.</summary>
    public async Task<JsonObject> ProgressAsync(CancellationToken cancellationToken)
    {
        var remaining = await prompts.QueueRemainingAsync(cancellationToken);
        Job? job;
        lock (gate) job = current;
        double progress = 0, eta = 0;
        var running = job is { Ended: false };
        int done = 0, step = 0, steps = job?.Steps ?? 0;
        if (running)
        {
            // Images whose save node has output; the step the sampler running last reported (sample_<i>, hires_<i>).
            done = Enumerable.Range(0, job!.Images).Count(i => job.Prompt.OutputOf(A1111Prompt.SaveId(i))["images"] is JsonArray { Count: > 0 });
            if (job.Prompt.Progress is { } reported && done < job.Images && job.Steps > 0
                && (reported.Node.StartsWith("sample_", StringComparison.Ordinal) || reported.Node.StartsWith("hires_", StringComparison.Ordinal)))
            {
                (step, steps) = (reported.Step, reported.Total);
            }

            progress = Math.Clamp((done + (double)step / Math.Max(1, steps)) / job.Images, 0, 1);
            var elapsed = (DateTimeOffset.UtcNow - job.Started).TotalSeconds;
            eta = progress > 0 ? elapsed / progress - elapsed : 0;
        }

        return new JsonObject
        {
            ["progress"] = progress,
            ["eta_relative"] = eta,
            ["state"] = new JsonObject
            {
                ["skipped"] = false,
                ["interrupted"] = job?.Interrupted ?? false,
                ["stopping_generation"] = false,
                ["job"] = running ? $"task({job!.Prompt.Id})" : "",
                ["job_count"] = remaining,
                ["job_timestamp"] = (job?.Started ?? DateTimeOffset.UtcNow).ToLocalTime().ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture),
                ["job_no"] = done,
                ["sampling_step"] = step,
                ["sampling_steps"] = steps,
            },
            ["current_image"] = null,
            ["textinfo"] = null,
            ["current_task"] = running ? $"task({job!.Prompt.Id})" : null,
        };
    }

    /// <summary>
    /// The upscaler A1111 calls <paramref name="name"/> (404 naming <paramref name="field"/> when there is none), a model's
    /// with its scale measured: A1111 runs a model again while the image is smaller than the target, so the prompt needs
    /// it, and a model's scale is known only once it runs. The first request for a file runs it through the queue on a
    /// 32 × 32 grey image (a prompt of its own in /history) and the scale is kept while the file is unchanged. A model that
    /// cannot run on that image (an export of a fixed larger input) stays unmeasured and runs once.
    /// </summary>
    internal async Task<A1111Upscaler> ResolveUpscalerAsync(string name, string field, CancellationToken cancellationToken)
    {
        var upscaler = A1111Upscalers.Resolve(folders, name, field);
        if (upscaler.ModelFile is null || folders.ResolveModelFile("upscale_models", upscaler.ModelFile) is not { } relative) return upscaler;
        var file = new FileInfo(Path.GetFullPath(relative, folders.WorkingFolder));
        var key = (file.FullName, file.Length, file.LastWriteTimeUtc);
        if (scales.TryGetValue(key, out var known)) return upscaler with { ModelScale = known };
        const int side = 32;
        var grey = new byte[4 * side * side];
        Array.Fill(grey, (byte)128);
        var probe = new JsonObject
        {
            ["probe_load"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = Store(PreviewPng.EncodeRgba(grey, side, side)) } },
            ["probe_model"] = new JsonObject { ["class_type"] = "UpscaleModelLoader", ["inputs"] = new JsonObject { ["model_name"] = upscaler.ModelFile } },
            ["probe"] = new JsonObject
            {
                ["class_type"] = "ImageUpscaleWithModel",
                ["inputs"] = new JsonObject { ["upscale_model"] = new JsonArray("probe_model", 0), ["image"] = new JsonArray("probe_load", 0) },
            },
            ["probe_save"] = new JsonObject { ["class_type"] = "PreviewImage", ["inputs"] = new JsonObject { ["images"] = new JsonArray("probe", 0) } },
        };
        var queued = await QueueAsync(probe, (_, _) => field, cancellationToken);
        while (!queued.Finished) await Task.Delay(20, cancellationToken);
        try
        {
            if (Interrupted(queued)) return upscaler;
        }
        catch (A1111RunFailedException)
        {
            // The request's own run reports what fails.
            return upscaler;
        }

        // The PNG's IHDR width, big-endian at byte 16.
        if (await OutputPngAsync(queued, "probe_save", cancellationToken) is not { Length: > 24 } png) return upscaler;
        var width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16));
        if (width < side || width % side != 0) return upscaler;
        scales[key] = width / side;
        return upscaler with { ModelScale = width / side };
    }

    // A unit's control image (its own, else the init image, which the extension takes with img2img's resize mode, 0 here) and its ControlNet file.
    private A1111ControlNet.Input ControlNetInput(A1111ControlNetUnit unit, (string Name, int Width, int Height)? init)
    {
        var model = A1111ControlNet.ResolveModel(folders, unit);
        if (unit.Image is { } encoded)
        {
            var (name, width, height) = SaveImage(Base64(encoded, unit.Field + ".image"), unit.Field + ".image", dropAlpha: false);
            return new A1111ControlNet.Input(unit, name, width, height, model, unit.ResizeMode);
        }

        var (initName, initWidth, initHeight) = init ?? throw new A1111RequestException(422, unit.Field + ".image", "txt2img needs a control image (img2img units without one take the init image)");
        return new A1111ControlNet.Input(unit, initName, initWidth, initHeight, model, A1111ControlNetUnit.ResizeModes[0]);
    }

    /// <summary>
    /// Converts a prompt of this layer with A1111's prompt syntax and queues it; a node error is refused naming the A1111
    /// field <paramref name="fieldFor"/> gives for the ComfyUI node id and input.
    /// </summary>
    internal async Task<ComfyPrompt> QueueAsync(JsonObject graph, Func<string, string?, string> fieldFor, CancellationToken cancellationToken)
    {
        var conversion = ApiPromptConverter.Convert(graph, folders, "a1111", promptSyntax: "a1111");
        if (!conversion.IsValid) throw Refusal(conversion.NodeErrors.Select(e => (e.Key, e.Value.Errors)), conversion.Error?.Details, fieldFor);
        try
        {
            return await prompts.QueueAsync((JsonObject)graph.DeepClone(), conversion, null, null, cancellationToken);
        }
        catch (ComfyBackendException e)
        {
            throw Refusal(e.Errors.GroupBy(x => x.NodeId is null ? "" : conversion.ComfyIdOf.GetValueOrDefault(x.NodeId, ""))
                .Select(g => (g.Key, (IReadOnlyList<ComfyNodeError>)g.Select(x => new ComfyNodeError("invalid", "Invalid value", x.Message)).ToList())), null, fieldFor);
        }
    }

    /// <summary>Whether a finished run was interrupted; throws <see cref="A1111RunFailedException"/> for one that failed.</summary>
    internal static bool Interrupted(ComfyPrompt queued)
    {
        var last = queued.Completed ? null : queued.HistoryEntry()["status"]!["messages"]!.AsArray().LastOrDefault();
        if (last?[0]?.GetValue<string>() == "execution_error")
            throw new A1111RunFailedException(last[1]?["exception_message"]?.GetValue<string>() ?? "the run failed");
        return last?[0]?.GetValue<string>() == "execution_interrupted";
    }

    /// <summary>The PNG an output node of a finished run wrote, or null when it wrote none (an interrupted run).</summary>
    internal async Task<byte[]?> OutputPngAsync(ComfyPrompt queued, string nodeId, CancellationToken cancellationToken)
    {
        if (queued.OutputOf(nodeId)["images"] is not JsonArray { Count: > 0 } files) return null;
        var file = files[0]!;
        var relative = $"{file["subfolder"]!.GetValue<string>()}/{file["filename"]!.GetValue<string>()}".TrimStart('/');
        var path = ComfyFolders.Inside(prompts.Backend.OutputFolder, relative);
        return path is not null && File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken) : null;
    }

    // The init image, checked and decoded as an upload is, saved as a PNG in the input folder under its content's hash.
    private (string Name, int Width, int Height) SaveInitImage(string encoded) => SaveImage(Base64(encoded, "init_images[0]"), "init_images[0]", dropAlpha: false);

    /// <summary>The bytes of a base64 file of a request (a data: URL prefix allowed); throws 422 naming <paramref name="field"/>.</summary>
    internal static byte[] Base64(string encoded, string field)
    {
        var comma = encoded.StartsWith("data:", StringComparison.Ordinal) ? encoded.IndexOf(',', StringComparison.Ordinal) : -1;
        try
        {
            return Convert.FromBase64String(comma >= 0 ? encoded[(comma + 1)..] : encoded);
        }
        catch (FormatException)
        {
            throw new A1111RequestException(422, field, "is not base64 (a PNG, JPEG or WebP file, optionally as a data: URL)");
        }
    }

    /// <summary>
    /// An image file of a request, checked and decoded as an upload is, saved as a PNG in the input folder under its
    /// content's hash; returns its LoadImage name and size. Transparency is refused naming <paramref name="field"/>, or with
    /// <paramref name="dropAlpha"/> dropped, as Pillow's convert("RGB") drops it.
    /// </summary>
    internal (string Name, int Width, int Height) SaveImage(byte[] bytes, string field, bool dropAlpha)
    {
        using var pixels = Decode(bytes, field);
        for (var i = 3; i < 4 * pixels.Width * pixels.Height; i += 4)
        {
            // A1111 flattens transparency onto its background colour; ComfyUI's LoadImage drops it: refused, not guessed.
            if (dropAlpha) pixels.Bytes[i] = 255;
            else if (pixels.Bytes[i] != 255) throw new A1111RequestException(422, field, "has transparent pixels: flatten it onto a background first");
        }

        return (Store(PreviewPng.EncodeRgba(pixels.Bytes.AsSpan(0, 4 * pixels.Width * pixels.Height), pixels.Width, pixels.Height)), pixels.Width, pixels.Height);
    }

    // An image file of a request checked and decoded as an upload is; bad input is refused naming the field.
    private RgbaPixels Decode(byte[] bytes, string field)
    {
        var limits = ImageLimits;
        try
        {
            ImageFile.Check(bytes, field, limits);
            return RgbaPixels.Decode(bytes, field, limits: limits);
        }
        catch (InvalidDataException e)
        {
            throw new A1111RequestException(422, field, $"cannot be read as an image: {e.Message}");
        }
    }

    // A PNG kept in the input folder as a1111/<its hash>.png; returns that name.
    private string Store(byte[] png)
    {
        var name = $"a1111/{Convert.ToHexStringLower(SHA256.HashData(png))[..32]}.png";
        var path = Path.Combine(folders.InputFolder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            File.WriteAllBytes(path + ".part", png);
            File.Move(path + ".part", path, overwrite: true);
        }

        return name;
    }

    // The inpainting mask read as A1111 reads it, stored grey for LoadImageMask, with "only masked"'s region; null when
    // "only masked" finds nothing to repaint (A1111 then runs plain img2img).
    private A1111MaskFile? SaveMask(A1111Request request, (string Name, int Width, int Height) init)
    {
        var inpaint = request.Inpainting!;
        using var pixels = Decode(Base64(inpaint.Mask, "mask"), "mask");
        var (width, height) = (pixels.Width, pixels.Height);
        var luma = A1111Inpainting.Luma(pixels.Bytes, width, height, inpaint.Round);
        var grey = new byte[4 * luma.Length];
        for (var i = 0; i < luma.Length; i++) (grey[4 * i], grey[4 * i + 1], grey[4 * i + 2], grey[4 * i + 3]) = (luma[i], luma[i], luma[i], 255);
        if (inpaint.OnlyMasked)
        {
            if ((width, height) != (init.Width, init.Height))
                throw new A1111RequestException(422, "mask", $"is {width}x{height} and the init image {init.Width}x{init.Height}: \"only masked\" (inpaint_full_res) cuts both at the mask's region, so they must match");
            var region = A1111Inpainting.Region(luma, width, height, inpaint.Invert, inpaint.Blur, inpaint.Padding, request.Width, request.Height);
            return region is null ? null : new A1111MaskFile(Store(PreviewPng.EncodeRgba(grey, width, height)), width, height, region);
        }

        // The whole picture: a mask of another size is brought to the size by resize_mode as the image is, as in A1111.
        if (request.ResizeMode == 3 && (init.Width, init.Height) != (request.Width, request.Height))
            throw new A1111RequestException(422, "resize_mode", "3 (latent upscale) with a mask needs an init image of the size (A1111 cannot paste an image of another size back either)");
        return new A1111MaskFile(Store(PreviewPng.EncodeRgba(grey, width, height)), width, height, null);
    }

    private static A1111RequestException Refusal(IEnumerable<(string ComfyId, IReadOnlyList<ComfyNodeError> Errors)> errors, string? top, Func<string, string?, string> fieldFor)
    {
        foreach (var (id, list) in errors)
        {
            foreach (var error in list)
            {
                var field = fieldFor(id, error.InputName);
                return new A1111RequestException(422, field, error.Details);
            }
        }

        return new A1111RequestException(422, "body", top ?? "the request cannot run");
    }

    private sealed class Job(ComfyPrompt prompt, int images, int steps)
    {
        public ComfyPrompt Prompt { get; } = prompt;

        public int Images { get; } = images;

        public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

        public int Steps { get; } = steps;

        public volatile bool Interrupted;

        public volatile bool Ended;
    }
}
