using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>Standalone CLIP text-encoder files in transformers' names: what ComfyUI's CLIPSave writes and CLIPLoader reads.</summary>
public sealed partial class CheckpointWeights
{
    /// <summary>
    /// Opens a CLIP text tower saved alone in transformers' names (<c>text_model.*</c>, optionally
    /// <c>text_projection.weight</c>), as <c>clip_l.safetensors</c> and ComfyUI's CLIPSave files hold it; only
    /// <see cref="ModelPart.TextEncoder"/> is set.
    /// </summary>
    /// <exception cref="CheckpointException">The file holds no <c>text_model.</c> tensor; the message names the file and its first keys.</exception>
    public static CheckpointWeights OpenClip(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var tensors = file.Tensors.Values
                .Where(t => t.Name.StartsWith("text_model.", StringComparison.Ordinal) || t.Name == "text_projection.weight")
                .ToDictionary(t => t.Name, t => new StoredTensor(file, t, t.Shape), StringComparer.Ordinal);
            if (!tensors.Keys.Any(k => k.StartsWith("text_model.", StringComparison.Ordinal)))
            {
                throw new CheckpointException($"{path}: no tensor is a CLIP text encoder's in transformers' names (text_model.*); "
                    + $"the file's first keys are {string.Join(", ", file.Tensors.Keys.Order(StringComparer.Ordinal).Take(3))}.");
            }

            return new CheckpointWeights(path, [file], new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [ModelPart.TextEncoder] = tensors });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
