using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace FlowDiffusion.Cluster.Tests;

/// <summary>A real child process (redis-server, flowdiffusion serve or worker) whose output the test reads line by line, killed with SIGKILL when asked.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private bool _disposed;

    private ChildProcess(Process process) => _process = process;

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="file"/> with <paramref name="arguments"/> in <paramref name="folder"/>.</summary>
    public static ChildProcess Start(string file, IEnumerable<string> arguments, string folder, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>A .NET program (the CLI's dll) through the dotnet host running the tests.</summary>
    public static ChildProcess StartDotnet(string dll, IEnumerable<string> arguments, string folder, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", [dll, .. arguments], folder, environment);

    /// <summary>Waits until the output matches <paramref name="pattern"/>; returns the match.</summary>
    public async Task<Match> WaitForAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (regex.Match(Log) is { Success: true } match) return match;
            if (_process.HasExited) throw new InvalidOperationException($"the process exited with {_process.ExitCode} before printing /{pattern}/:\n{Log}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no /{pattern}/ within {timeout.TotalSeconds} s:\n{Log}");
            await Task.Delay(20);
        }
    }

    /// <summary><c>kill -9</c>.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        KillHard();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }
}
