using FlowDiffusion.Imaging;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Writes a batch as one animated file (ComfyUI's SaveAnimatedWEBP and SaveAnimatedPNG).</summary>
[Node("image.save_animated", "1.1.0", Category = "image", Title = "Save Animated Image", IsOutput = true, Deterministic = false,
    Description = "Writes the whole batch as one animated WebP or PNG (APNG) in the output folder, one frame per image at the given frames per second, looping forever, never overwriting: prefix_00001.webp, … As ComfyUI's SaveAnimatedWEBP and SaveAnimatedPNG. The APNG carries the metadata entries, the workflow YAML and the run's inputs in text chunks, as image.save's PNGs do; the WebP carries them as EXIF text, as ComfyUI's SaveAnimatedWEBP writes its prompt and workflow.")]
public sealed class ImageSaveAnimatedNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The frames, in batch order.")]
    public Image? Images { get; set; }

    /// <summary>The file name prefix.</summary>
    [Parameter(Description = "File name prefix; placeholders as image.save's.")]
    public string Prefix { get; set; } = "flowdiffusion";

    /// <summary>The file format.</summary>
    [Parameter(Description = "webp (ComfyUI's SaveAnimatedWEBP) or png (an APNG, as SaveAnimatedPNG).", Choices = ["webp", "png"])]
    public string Format { get; set; } = "webp";

    /// <summary>Frames per second.</summary>
    [Parameter(Description = "Frames per second: each frame shows for 1/fps seconds (whole milliseconds, as ComfyUI's int(1000 / fps)).", Min = 0.01, Max = 1000, Step = 0.01)]
    public double Fps { get; set; } = 6;

    /// <summary>WebP: lossless.</summary>
    [Parameter(Description = "WebP: lossless (VP8L) or lossy (VP8).")]
    public bool Lossless { get; set; } = true;

    /// <summary>WebP: quality.</summary>
    [Parameter(Description = "WebP: lossy, the quality; lossless, the effort spent on a smaller file (libwebp's meaning).", Min = 0, Max = 100, Step = 1)]
    public int Quality { get; set; } = 80;

    /// <summary>PNG: zlib level.</summary>
    [Parameter(Description = "PNG: zlib's compression level, 0 (none) … 9 (smallest, slowest).", Min = 0, Max = 9, Step = 1)]
    public int CompressLevel { get; set; } = 4;

    /// <summary>Extra text entries.</summary>
    [Parameter(Description = "Extra text entries, as a JSON object of strings (the ComfyUI layer puts ComfyUI's prompt and workflow here). PNG: text chunks before the frames, as image.save's (ComfyUI's SaveAnimatedPNG writes private comf chunks after them, which strict PNG decoders such as libpng refuse: the type has PNG's reserved bit set). WebP: EXIF text 'key:text', 'prompt' in tag 0x0110 and the others from 0x010f down, as ComfyUI's SaveAnimatedWEBP; the workflow YAML and inputs follow. Keys of 1 to 79 Latin-1 characters; empty for none.")]
    public string Metadata { get; set; } = "";

    /// <summary>The file written.</summary>
    [Output(Description = "The path written.")]
    public string[] Files { get; set; } = [];

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var images = Images!;
        var milliseconds = (int)(1000.0 / Fps);
        if (Format == "webp" && (images.Width > WebpAnimationEncoder.MaxSide || images.Height > WebpAnimationEncoder.MaxSide))
            throw new ArgumentException($"images: {images.Width}×{images.Height} is larger than WebP allows ({WebpAnimationEncoder.MaxSide} pixels a side); save it as png");
        var metadata = PngOutputs.Metadata(Metadata);
        var exif = Format == "webp" ? ExifText.Build(ExifEntries(metadata, PngOutputs.Text(context))) : [];
        var prefix = OutputNamePattern.ExpandPlain(Prefix, context.Workflow, DateTime.Now);
        var path = NumberedFiles.Reserve(context.OutputDirectory, prefix, "." + Format);
        await WholeFile.WriteAsync(path, file =>
        {
            if (Format == "png") ApngEncoder.Write(file, images, milliseconds / 1000.0, CompressLevel, PngOutputs.Text(context, metadata), cancellationToken);
            else WebpAnimationEncoder.Write(file, images, milliseconds, Lossless, Quality, exif, cancellationToken);
        }, cancellationToken);
        context.ReportOutputFile(path);
        Files = [path];
    }

    /// <summary>The tag below 0x0110 (Model, ComfyUI's prompt) the entries may reach: 0x0100 and under are the image's own.</summary>
    private const ushort LowestTextTag = 0x0101;

    // ComfyUI's SaveAnimatedWEBP layout: "prompt:…" in Model (0x0110), each other entry "key:…" from Make (0x010f) down,
    // in order; ours (the workflow YAML and inputs, which win over entries of the same name, as in the PNGs) after them.
    private static List<KeyValuePair<ushort, string>> ExifEntries(Dictionary<string, string> metadata, Dictionary<string, string> ours)
    {
        var entries = new List<KeyValuePair<ushort, string>>();
        if (metadata.TryGetValue("prompt", out var prompt)) entries.Add(new(0x0110, $"prompt:{prompt}"));
        ushort tag = 0x010f;
        foreach (var (key, value) in metadata.Where(e => e.Key != "prompt" && !ours.ContainsKey(e.Key)).Concat(ours))
        {
            if (tag < LowestTextTag)
                throw new ArgumentException($"parameter 'metadata': {metadata.Count} entries with the workflow and inputs do not fit WebP's EXIF text tags (0x0110 down to 0x{LowestTextTag:x4}); keep at most {0x0110 - LowestTextTag - ours.Count} besides prompt, or save as png");
            entries.Add(new(tag--, $"{key}:{value}"));
        }
        return entries;
    }
}
