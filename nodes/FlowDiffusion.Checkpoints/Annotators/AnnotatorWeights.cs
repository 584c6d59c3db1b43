using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// Opens an annotator's torch weights (<c>.pth</c>, or <c>.safetensors</c>) without running its pickle and checks every
/// tensor of the network's layout by name and shape, so a wrong or damaged file fails naming the file and the tensor.
/// </summary>
internal static class AnnotatorWeights
{
    /// <summary>The file and its tensors by layout name; <paramref name="what"/> names the annotator and its file in errors.</summary>
    /// <param name="path">The file.</param>
    /// <param name="layout">Every tensor the network needs, with its shape.</param>
    /// <param name="what">The annotator and its published file name, e.g. "realistic lineart annotator (sk_model.pth)".</param>
    /// <param name="stripModule">Read keys with every <c>module.</c> removed (a DataParallel save), as the annotators' loaders do.</param>
    /// <param name="outer">The entry of the saved dictionary that holds the state dict (e.g. <c>model</c>): its <c>outer.</c> prefix is read off the keys when the file has other entries beside it.</param>
    public static (SafetensorsFile File, Dictionary<string, StoredTensor> Tensors) Open(string path, IEnumerable<(string Name, long[] Shape)> layout, string what, bool stripModule = false, string? outer = null)
    {
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new CheckpointException($"{path}: not a readable {what}: {e.Message}");
        }

        try
        {
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in file.Tensors.Keys)
            {
                var name = stripModule ? key.Replace("module.", "", StringComparison.Ordinal) : key;
                // A one-entry file arrives unwrapped, and its own keys may begin with the entry's name (LeReS's
                // {"depth_model": {"depth_model.…"}}): the key as it is first, then without the entry's prefix.
                names.TryAdd(name, key);
                if (outer is not null && name.StartsWith(outer + ".", StringComparison.Ordinal)) names.TryAdd(name[(outer.Length + 1)..], key);
            }
            var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
            foreach (var (name, shape) in layout)
            {
                if (!names.TryGetValue(name, out var key))
                    throw new CheckpointException($"{path}: tensor '{name}' is missing; not the {what}.");
                var tensor = file.Tensors[key];
                if (!tensor.Shape.SequenceEqual(shape))
                    throw new CheckpointException($"{path}: tensor '{key}' is [{string.Join(", ", tensor.Shape)}]; the {what}'s is [{string.Join(", ", shape)}].");
                tensors[name] = new StoredTensor(file, tensor, shape);
            }

            return (file, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
