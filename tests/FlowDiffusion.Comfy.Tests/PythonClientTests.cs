using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests;

public sealed class PythonClientTests
{
    [SkippableFact]
    public async Task Python_websocket_client_queues_listens_until_done_and_downloads_the_image()
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        Skip.IfNot(await HasWebsocketModuleAsync(python), "python3-websocket is not installed (apt-get install python3-websocket; .ci/run installs it)");
        await using var host = await ComfyHost.StartAsync();
        var work = Path.Combine(host.Root, "python");
        Directory.CreateDirectory(work);
        var promptFile = Path.Combine(work, "prompt.json");
        await File.WriteAllTextAsync(promptFile, Prompts.Txt2Img(text: "a green ball", steps: 4, sampler: "dpmpp_2m", scheduler: "karras").ToJsonString());

        var (exit, output, error) = await RunAsync(python, [Path.Combine(AppContext.BaseDirectory, "Clients", "comfy_api_client.py"), host.Address.Authority, promptFile, work]);
        Assert.True(exit == 0, error);
        var summary = JsonNode.Parse(output)!;
        Assert.Equal("success", summary["status"]!.GetValue<string>());
        Assert.Equal([1, 2, 3, 4], summary["progress"]!.AsArray().Select(p => p!.GetValue<int>()));
        Assert.Equal(3, summary["previews"]!.GetValue<int>());
        var types = summary["types"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal("status", types[0]);
        Assert.True(types.IndexOf("execution_start") < types.IndexOf("executed") && types.IndexOf("executed") < types.IndexOf("execution_success"), string.Join(",", types));
        var file = Assert.Single(summary["files"]!.AsArray())!;
        Assert.Equal("image/png", file["content_type"]!.GetValue<string>());
        var (r, g, b, _, _) = Images.Mean(await File.ReadAllBytesAsync(file["path"]!.GetValue<string>()));
        Assert.True(r < 0.02 && g > 0.98 && b < 0.02, $"({r:F3}, {g:F3}, {b:F3})");
    }

    [SkippableFact]
    public async Task Python_A1111_script_sets_the_model_runs_txt2img_and_reads_seeds_and_infotexts()
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        Skip.IfNot(await HasPythonAsync(python), "python3 is not installed");
        await using var host = await ComfyHost.StartAsync();
        var work = Path.Combine(host.Root, "python");
        Directory.CreateDirectory(work);

        var (exit, output, error) = await RunAsync(python, [Path.Combine(AppContext.BaseDirectory, "Clients", "a1111_api_client.py"), host.Address.Authority, work]);
        Assert.True(exit == 0, error);
        var summary = JsonNode.Parse(output)!;
        Assert.Contains("tiny-sd", summary["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("analytic-sd", summary["model"]!.GetValue<string>());
        var seed = summary["seed"]!.GetValue<long>();
        Assert.Equal([seed, seed + 1], summary["all_seeds"]!.AsArray().Select(s => s!.GetValue<long>()));
        var files = summary["files"]!.AsArray();
        Assert.Equal(2, files.Count);
        for (var i = 0; i < 2; i++)
        {
            var parameters = files[i]!["parameters"]!.GetValue<string>();
            Assert.Equal(summary["infotexts"]![i]!.GetValue<string>(), parameters);
            Assert.Equal($"a green ball\nSteps: 4, Sampler: Euler a, Schedule type: Automatic, CFG scale: 1.0, Seed: {seed + i}, Size: 64x64, Model: analytic-sd, Version: FlowDiffusion", parameters);
            var (r, g, b, _, _) = Images.Mean(await File.ReadAllBytesAsync(files[i]!["path"]!.GetValue<string>()));
            Assert.True(r < 0.02 && g > 0.98 && b < 0.02, $"({r:F3}, {g:F3}, {b:F3})");
        }
    }

    private static async Task<bool> HasPythonAsync(string python)
    {
        try
        {
            return (await RunAsync(python, ["-c", "import json, urllib.request"])).Exit == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task<bool> HasWebsocketModuleAsync(string python)
    {
        try
        {
            return (await RunAsync(python, ["-c", "import websocket"])).Exit == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
