using FlowDiffusion.Checkpoints.Embeddings;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>Textual-inversion files: the three safetensors layouts, the width choice, and a damaged file's refusal.</summary>
public sealed class TextualInversionReaderTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "sd1-tiny", "embeddings");
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-ti-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Emb_params_clip_l_and_string_to_param_files_give_their_vectors_for_the_encoders_width()
    {
        var style = TextualInversionReader.Read(Path.Combine(Folder, "style-a1111.safetensors"), 64);
        var one = TextualInversionReader.Read(Path.Combine(Folder, "one-clip-l.safetensors"), 64);
        var sp = TextualInversionReader.Read(Path.Combine(Folder, "sp.safetensors"), 64);

        Assert.Equal(("style-a1111", 2, 128), (style.Name, style.Count, style.Vectors.Length));
        Assert.Equal((1, 64), (one.Count, one.Vectors.Length));
        Assert.Equal((3, 192), (sp.Count, sp.Vectors.Length));
        // one-clip-l also holds a 96-wide clip_g; the 96-wide encoder gets that one.
        Assert.Equal(96, TextualInversionReader.Read(Path.Combine(Folder, "one-clip-l.safetensors"), 96).Vectors.Length);
        Assert.Equal(["one-clip-l", "sp", "style-a1111", "wide"], TextualInversionReader.List(Folder).Select(e => e.Name));
    }

    [Fact]
    public void A_damaged_pickle_file_or_an_embedding_of_another_width_is_refused_naming_the_file()
    {
        Directory.CreateDirectory(_scratch);
        var pickle = Path.Combine(_scratch, "old.pt");
        File.WriteAllBytes(pickle, [0x80, 0x02, 0x7d, 0x71, 0x00]);

        var refused = Assert.Throws<FlowDiffusion.Formats.Safetensors.SafetensorsException>(() => TextualInversionReader.Read(pickle, 64));
        Assert.Contains("old.pt", refused.Message);
        Assert.Contains("truncated", refused.Message);
        var wide = Assert.Throws<CheckpointException>(() => TextualInversionReader.Read(Path.Combine(Folder, "wide.safetensors"), 64));
        Assert.Contains("width 96", wide.Message);
        Assert.Contains(("old", pickle), TextualInversionReader.List(_scratch));
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }
}
