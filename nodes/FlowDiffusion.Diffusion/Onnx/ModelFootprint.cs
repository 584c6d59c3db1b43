namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Estimates the memory a session takes from the size of its model file and external data.</summary>
internal static class ModelFootprint
{
    // Files beside a model that never hold its weights.
    private static readonly string[] NotWeights = [".onnx", ".json", ".txt", ".md"];

    /// <summary>
    /// The model file plus every other file in its folder that could be external data (<c>model.onnx_data</c>,
    /// <c>weights.pb</c>, or the one-file-per-tensor layout), skipping other models and configs.
    /// </summary>
    public static long Estimate(string modelPath)
    {
        var model = new FileInfo(modelPath);
        var bytes = model.Length;
        if (model.Directory is { } folder)
        {
            foreach (var file in folder.EnumerateFiles())
            {
                if (!NotWeights.Contains(file.Extension, StringComparer.OrdinalIgnoreCase) && !file.Name.StartsWith('.'))
                {
                    bytes += file.Length;
                }
            }
        }
        return bytes;
    }
}
