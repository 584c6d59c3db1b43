namespace FlowDiffusion.Client;

/// <summary>One model in the server's models folder, as <c>GET /api/models</c> and <c>flowdiffusion models</c> list it.</summary>
/// <param name="Path">The file or folder as a workflow writes it (relative to the server's working folder, with '/').</param>
/// <param name="Kind">checkpoint, onnx-folder, diffusers-folder, lora, vae, embedding, tokenizer or other.</param>
/// <param name="Architecture">What its keys and shapes show, or why it was not read.</param>
/// <param name="Precision">The weights' element types (e.g. "F16"), or "" when not read.</param>
/// <param name="Bytes">Its size on disk.</param>
public sealed record ModelInfo(string Path, string Kind, string Architecture, string Precision, long Bytes);
