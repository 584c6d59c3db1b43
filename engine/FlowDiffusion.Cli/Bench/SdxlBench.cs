using FlowDiffusion.Checkpoints.Synthetic;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// What <c>bench --sdxl</c> adds: its option rules, the generated model's name and its generation (SDXL 1.0 base's
/// architecture with random weights, <see cref="SdxlLayout.Sdxl"/>, or the few-MB <see cref="SdxlLayout.Tiny"/>).
/// Everything else — phases, timing, report — is the SD bench's, on the sdxl- workflow of the mode.
/// </summary>
internal static class SdxlBench
{
    /// <summary>The full-size layout's name (and folder prefix under bench-models/).</summary>
    public const string Layout = "sdxl";

    /// <summary>The tiny SDXL layout's name.</summary>
    public const string TinyLayout = "sdxl-tiny";

    public static void Validate(bool sdxl, bool sd15, bool fp16, bool model)
    {
        if (!sdxl) return;
        if (sd15) throw new UsageException("--sdxl and --sd15 exclude each other.");
        if (model) throw new UsageException("--model names the model; leave out --sdxl (an SDXL folder is recognised by its text_encoder_2).");
        if (fp16) throw new UsageException("--sdxl generates float32 only (the SDXL export writes no fp16; on this CPU fp16 runs slower anyway, issue 17).");
    }

    /// <summary>The generated model's layout name, or null when the bench is not an SDXL one.</summary>
    public static string? LayoutName(bool sdxl, bool tiny) => sdxl ? (tiny ? TinyLayout : Layout) : null;

    public static void Generate(string layout, string folder, string tokenizer) =>
        SyntheticModel.Generate(layout == TinyLayout ? SdxlLayout.Tiny : SdxlLayout.Sdxl, folder, tokenizer, seed: 1);
}
