namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>A key of a LoRA file that changes no weight of the model, and why.</summary>
/// <param name="Key">The tensor's key in the file.</param>
/// <param name="Reason">Why it was not applied (no such weight, shapes that do not fit, a format not supported).</param>
public sealed record LoraUnmatchedKey(string Key, string Reason)
{
    /// <summary>The key and the reason, for messages.</summary>
    public override string ToString() => $"{Key} ({Reason})";
}
