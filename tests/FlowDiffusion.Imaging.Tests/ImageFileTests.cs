using System.Diagnostics;

namespace FlowDiffusion.Imaging.Tests;

/// <summary>Reading input files: only regular files, bounded in size and time.</summary>
public sealed class ImageFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fd-imagefile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_fifo_is_refused_at_once_instead_of_blocking()
    {
        if (OperatingSystem.IsWindows()) return;
        var fifo = Path.Combine(_folder, "pipe.png");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var clock = Stopwatch.StartNew();

        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Read(fifo, "pipe.png", ImageLimits.Default));

        Assert.Contains("not a regular file", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void A_device_is_refused(string device)
    {
        if (!File.Exists(device)) return;
        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Read(device, "dev", ImageLimits.Default));
        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void A_folder_is_refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Read(_folder, "folder", ImageLimits.Default));
        Assert.Contains("is a folder", e.Message);
    }

    [Fact]
    public void A_file_over_the_size_limit_is_refused_before_it_is_read()
    {
        var file = Path.Combine(_folder, "big.png");
        File.WriteAllBytes(file, ImageBombs.Png(8, 8));

        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Read(file, "big.png", new ImageLimits { MaxFileBytes = 10 }));

        Assert.Contains("FlowDiffusion:MaxInputFileBytes", e.Message);
    }

    [Fact]
    public void A_missing_file_is_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => ImageFile.Read(Path.Combine(_folder, "none.png"), "none.png", ImageLimits.Default));
    }
}
