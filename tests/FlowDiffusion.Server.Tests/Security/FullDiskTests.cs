using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>
/// The probe: a full data disk made the server exit and a truncated PNG was then served as complete. Here the output
/// folder is a real, tiny tmpfs (mounted for the test; that needs root, as CI runs): the run that does not fit fails
/// with the disk's error, the server stays up, nothing partial is listed or served, and the queue and history carry on.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private const string SmallDisk = "size=32k";
    private readonly TempFolder _folder = new();
    private readonly bool _mounted;

    public FullDiskTests()
    {
        Directory.CreateDirectory(Outputs);
        _mounted = Mount("mount", "-t", "tmpfs", "-o", SmallDisk, "tmpfs", Outputs);
    }

    private string Outputs => Path.Combine(_folder.Path, "small-disk");

    public void Dispose()
    {
        if (_mounted)
        {
            Mount("umount", "-l", Outputs);
        }

        _folder.Dispose();
    }

    private static bool Mount(string command, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            process.WaitForExit(10_000);
            return process.HasExited && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    // The sample landscape at 16² (a PNG of a few hundred bytes).
    private const string Small = """
        flowdiffusion: 1
        nodes:
          load: { node: image.load, with: { path: workflows/assets/landscape.png } }
          resize: { node: image.resize, in: { image: load.image }, with: { width: 16, height: 16 } }
          save: { node: image.save, in: { images: resize.resized }, with: { prefix: small } }
        """;

    // tiny-sd's coloured noise at 128²: about 48 KB of incompressible PNG, more than the disk holds.
    private static readonly object Big = new { workflow = "txt2img", inputs = new { model = "models/tiny-sd", width = 128, height = 128, steps = 1 } };

    [SkippableFact]
    public async Task A_run_that_fills_the_disk_fails_clearly_and_the_server_history_and_next_runs_carry_on()
    {
        Skip.IfNot(_mounted, "mounting a tmpfs needs root (CAP_SYS_ADMIN); CI runs as root");
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings, ("FlowDiffusion:OutputFolder", Outputs)]);

        var small = await host.WaitAsync(await host.SubmitAsync(new { yaml = Small }), TimeSpan.FromMinutes(1));
        Assert.True(small["status"]!.GetValue<string>() == "completed", small.ToJsonString());
        var smallUrl = small["outputs"]![0]!["url"]!.GetValue<string>();
        var smallBytes = await host.Client.GetByteArrayAsync(smallUrl);

        var big = await host.WaitAsync(await host.SubmitAsync(Big), TimeSpan.FromMinutes(1));

        Assert.Equal("failed", big["status"]!.GetValue<string>());
        Assert.Contains("No space left on device", big["error"]!.GetValue<string>());
        Assert.Empty(big["outputs"]!.AsArray());
        // Nothing of the failed run is left on the disk: no truncated PNG under its name, no partial file.
        var bigFolder = Path.Combine(Outputs, big["id"]!.GetValue<string>());
        Assert.Empty(Directory.Exists(bigFolder) ? Directory.EnumerateFiles(bigFolder, "*", SearchOption.AllDirectories) : []);
        using (var health = await host.Client.GetAsync("/api/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // History intact: both runs listed, the first one's file still served whole.
        var page = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!;
        Assert.Equal(2, page["total"]!.GetValue<int>());
        Assert.Equal(smallBytes, await host.Client.GetByteArrayAsync(smallUrl));
        // The queue moves on: the space the failed write took was given back.
        var next = await host.WaitAsync(await host.SubmitAsync(new { yaml = Small }), TimeSpan.FromMinutes(1));
        Assert.True(next["status"]!.GetValue<string>() == "completed", next.ToJsonString());
    }
}
