namespace FlowDiffusion.Checkpoints;

/// <summary>A checkpoint whose tensors do not describe a network this library builds; the message names the file and what is missing or unexpected.</summary>
public sealed class CheckpointException(string message) : IOException(message);
