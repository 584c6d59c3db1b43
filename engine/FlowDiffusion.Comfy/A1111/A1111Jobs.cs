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

    /// <summary>The largest request body: an init image of the upload limit, base64, and the fields around it.</summary>
    public long MaxBodyBytes => server.Value.MaxUploadBytes / 3 * 4 + (1 << 20);

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
        var checkpoint = request.CheckpointOverride is { } named ? ResolveCheckpoint(named, "override_settings.sd_model_checkpoint")
            : DefaultCheckpoint ?? throw new A1111RequestException(404, "override_settings.sd_model_checkpoint", "there are no checkpoints in models/ (GET /sdapi/v1/sd-models)");
        var clipSkip = request.ClipSkipOverride ?? settings.ClipSkip;
        // A1111's random seed: below 2³² − 2.
        var seed = request.Seed == -1 ? Random.Shared.NextInt64(4294967294) : request.Seed;
        var init = request.InitImage is { } encoded ? SaveImage(encoded, "init_images[0]") : ((string, int, int)?)null;
        var available = ObjectInfo.Files(folders, "loras");
        var loras = request.Loras.Select(l => available.FirstOrDefault(f => Path.GetFileNameWithoutExtension(f) == l.Name || Path.ChangeExtension(f, null) == l.Name)
            ?? throw new A1111RequestException(404, "prompt", $"<lora:{l.Name}>: no such LoRA in models/loras (GET /sdapi/v1/loras)")).ToList();
        var graph = A1111Prompt.Build(request, checkpoint, clipSkip, seed, init, loras);
        A1111ControlNet.AddTo(graph, [.. request.ControlNet.Select(u => ControlNetInput(u, init))], request.Width, request.Height);
        var queued = await QueueAsync(graph, request.ControlNet, cancellationToken);

        var images = request.BatchSize * request.Iterations;
        var job = new Job(queued, images, request.Steps);
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

        var info = A1111Infotext.Info(request, checkpoint, clipSkip, seed, DateTimeOffset.Now);
        var texts = info["infotexts"]!.AsArray();
        var answer = new JsonArray();
        var last = queued.Completed ? null : queued.HistoryEntry()["status"]!["messages"]!.AsArray().LastOrDefault();
        job.Interrupted = last?[0]?.GetValue<string>() == "execution_interrupted";
        if (last?[0]?.GetValue<string>() == "execution_error")
            throw new A1111RunFailedException(last[1]?["exception_message"]?.GetValue<string>() ?? "the run failed");

        for (var i = 0; i < images && request.SendImages; i++)
        {
            // An interrupted request answers with the images that were finished, as A1111 answers with what it has.
            if (await OutputPngAsync(queued, A1111Prompt.SaveId(i), cancellationToken) is not { } output) continue;
            answer.Add(Convert.ToBase64String(PreviewPng.WithText(output, "parameters", texts[i]!.GetValue<string>())));
        }

        // The extension appends each unit's control image (its detected map) after the images.
        for (var i = 0; i < request.ControlNet.Count && request.SendImages; i++)
        {
            if (request.ControlNet[i].SaveDetectedMap && await OutputPngAsync(queued, A1111ControlNet.MapId(i), cancellationToken) is { } map)
                answer.Add(Convert.ToBase64String(map));
        }

        return new JsonObject { ["images"] = answer, ["parameters"] = request.Parameters, ["info"] = info.ToJsonString() };
    }

    /// <summary>Converts and queues a prompt of this layer through the ComfyUI queue; a prompt the converter refuses throws naming the A1111 field.</summary>
    internal async Task<ComfyPrompt> QueueAsync(JsonObject graph, IReadOnlyList<A1111ControlNetUnit> units, CancellationToken cancellationToken)
    {
        var conversion = ApiPromptConverter.Convert(graph, folders, "a1111", promptSyntax: "a1111");
        if (!conversion.IsValid) throw Refusal(conversion.NodeErrors.Select(e => (e.Key, e.Value.Errors)), conversion.Error?.Details, units);
        try
        {
            return await prompts.QueueAsync((JsonObject)graph.DeepClone(), conversion, null, null, cancellationToken);
        }
        catch (ComfyBackendException e)
        {
            throw Refusal(e.Errors.GroupBy(x => x.NodeId is null ? "" : conversion.ComfyIdOf.GetValueOrDefault(x.NodeId, ""))
                .Select(g => (g.Key, (IReadOnlyList<ComfyNodeError>)g.Select(x => new ComfyNodeError("invalid", "Invalid value", x.Message)).ToList())), null, units);
        }
    }

    /// <summary>The PNG the output node <paramref name="id"/> of a run wrote, or null when it wrote none.</summary>
    internal async Task<byte[]?> OutputPngAsync(ComfyPrompt queued, string id, CancellationToken cancellationToken)
    {
        if (queued.OutputOf(id)["images"] is not JsonArray { Count: > 0 } files) return null;
        var file = files[0]!;
        var relative = $"{file["subfolder"]!.GetValue<string>()}/{file["filename"]!.GetValue<string>()}".TrimStart('/');
        var path = ComfyFolders.Inside(prompts.Backend.OutputFolder, relative);
        return path is null || !File.Exists(path) ? null : await File.ReadAllBytesAsync(path, cancellationToken);
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
            if (job.Prompt.Progress is { } reported && done < job.Images
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

    // A unit's control image (its own, else the init image, which the extension takes with img2img's resize mode, 0 here) and its ControlNet file.
    private A1111ControlNet.Input ControlNetInput(A1111ControlNetUnit unit, (string Name, int Width, int Height)? init)
    {
        var model = A1111ControlNet.ResolveModel(folders, unit);
        if (unit.Image is { } encoded)
        {
            var (name, width, height) = SaveImage(encoded, unit.Field + ".image");
            return new A1111ControlNet.Input(unit, name, width, height, model, unit.ResizeMode);
        }

        var (initName, initWidth, initHeight) = init ?? throw new A1111RequestException(422, unit.Field + ".image", "txt2img needs a control image (img2img units without one take the init image)");
        return new A1111ControlNet.Input(unit, initName, initWidth, initHeight, model, A1111ControlNetUnit.ResizeModes[0]);
    }

    /// <summary>An image of a request (base64, optionally a data: URL), checked and decoded as an upload is, saved as a PNG in the input folder under its content's hash; errors name <paramref name="field"/>.</summary>
    internal (string Name, int Width, int Height) SaveImage(string encoded, string field)
    {
        var comma = encoded.StartsWith("data:", StringComparison.Ordinal) ? encoded.IndexOf(',', StringComparison.Ordinal) : -1;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(comma >= 0 ? encoded[(comma + 1)..] : encoded);
        }
        catch (FormatException)
        {
            throw new A1111RequestException(422, field, "is not base64 (a PNG, JPEG or WebP file, optionally as a data: URL)");
        }

        var limits = new ImageLimits { MaxPixels = engine.Value.MaxImagePixels, MaxDimension = engine.Value.MaxImageDimension, MaxFileBytes = server.Value.MaxUploadBytes };
        try
        {
            ImageFile.Check(bytes, field, limits);
            using var pixels = RgbaPixels.Decode(bytes, field, limits: limits);
            for (var i = 3; i < 4 * pixels.Width * pixels.Height; i += 4)
            {
                // A1111 flattens transparency onto its background colour; ComfyUI's LoadImage drops it: refused, not guessed.
                if (pixels.Bytes[i] != 255) throw new A1111RequestException(422, field, "has transparent pixels: flatten it onto a background first");
            }

            var png = PreviewPng.EncodeRgba(pixels.Bytes.AsSpan(0, 4 * pixels.Width * pixels.Height), pixels.Width, pixels.Height);
            var name = $"a1111/{Convert.ToHexStringLower(SHA256.HashData(png))[..32]}.png";
            var path = Path.Combine(folders.InputFolder, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (!File.Exists(path))
            {
                File.WriteAllBytes(path + ".part", png);
                File.Move(path + ".part", path, overwrite: true);
            }

            return (name, pixels.Width, pixels.Height);
        }
        catch (InvalidDataException e)
        {
            throw new A1111RequestException(422, field, $"cannot be read as an image: {e.Message}");
        }
    }

    private static A1111RequestException Refusal(IEnumerable<(string ComfyId, IReadOnlyList<ComfyNodeError> Errors)> errors, string? top, IReadOnlyList<A1111ControlNetUnit> units)
    {
        foreach (var (id, list) in errors)
        {
            foreach (var error in list)
            {
                var field = A1111ControlNet.FieldFor(id, units) ?? A1111Prompt.FieldFor(id, error.InputName);
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
