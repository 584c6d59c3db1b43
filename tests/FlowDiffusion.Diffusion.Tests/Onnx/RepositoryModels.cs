namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>The shipped model folders under the repository's models/.</summary>
internal static class RepositoryModels
{
    public static string TinySd => Folder("tiny-sd");

    public static string Folder(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", name);
            if (File.Exists(Path.Combine(candidate, "model_index.json")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"models/{name} not found above {AppContext.BaseDirectory}");
    }
}
