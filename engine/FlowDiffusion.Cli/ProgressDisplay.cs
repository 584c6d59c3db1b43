using System.Globalization;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cli;

/// <summary>
/// Shows a run's events, the messages of the run event bus the API and the editor read too: on a terminal one live
/// status line (node, step bar, elapsed), when redirected one plain line per node event and per reported step.
/// </summary>
internal sealed class ProgressDisplay(TextWriter writer, bool live)
{
    private int _total;
    private int _done;
    private int _lastWidth;
    private string _status = "";

    public void Show(RunMessage message)
    {
        if (message.Event is { } item) Show(item);
        else if (message.Kind == RunMessage.LogKind && message.Text is { } text) Line(text, permanent: true);
    }

    private void Show(RunEvent item)
    {
        switch (item)
        {
            case RunStarted started:
                _total = started.Nodes.Count;
                break;
            case NodeStarted node:
                Line($"[{_done + 1}/{_total}] {node.NodeId} ({node.NodeType})", permanent: !live);
                break;
            case NodeCached node:
                _done++;
                Line($"[{_done}/{_total}] {node.NodeId} ({node.NodeType}) cached", permanent: true);
                break;
            case NodeFinished node:
                _done++;
                Line($"[{_done}/{_total}] {node.NodeId} ({node.NodeType}) {Seconds(node.Duration)}", permanent: true);
                break;
            case NodeFailed node:
                Line($"[{_done + 1}/{_total}] {node.NodeId} ({node.NodeType}) FAILED", permanent: true);
                break;
            case NodeProgressed progress when progress.Progress.TotalSteps > 0:
                var p = progress.Progress;
                if (live)
                    Line($"[{_done + 1}/{_total}] {progress.NodeId} {Bar(p.Fraction)} step {p.Step}/{p.TotalSteps}{Suffix(p.Message)}", permanent: false);
                else
                    Line($"  {progress.NodeId}: step {p.Step}/{p.TotalSteps}{Suffix(p.Message)}", permanent: true);
                break;
            case NodeProgressed progress:
                if (live) Line($"[{_done + 1}/{_total}] {progress.NodeId} {Bar(progress.Progress.Fraction)}{Suffix(progress.Progress.Message)}", permanent: false);
                else if (progress.Progress.Message is { Length: > 0 } message) Line($"  {progress.NodeId}: {message}", permanent: true);
                break;
            case OutputWritten output:
                Line($"  wrote {output.Path}", permanent: true);
                break;
        }
    }

    public void Finish()
    {
        if (live && _status.Length > 0) Clear();
    }

    private void Line(string text, bool permanent)
    {
        if (live)
        {
            Clear();
            if (permanent)
            {
                writer.WriteLine(text);
                _status = "";
            }
            else
            {
                writer.Write(text);
                _status = text;
                _lastWidth = text.Length;
            }
        }
        else
        {
            writer.WriteLine(text);
        }
        writer.Flush();
    }

    private void Clear()
    {
        if (_lastWidth > 0) writer.Write("\r" + new string(' ', _lastWidth) + "\r");
        _lastWidth = 0;
    }

    private static string Bar(double fraction)
    {
        const int width = 24;
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return "[" + new string('#', filled) + new string('.', width - filled) + "] " + (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + "%";
    }

    private static string Suffix(string? message) => string.IsNullOrEmpty(message) ? "" : " " + message;

    public static string Seconds(TimeSpan time) => time.TotalSeconds >= 1
        ? time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s"
        : time.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
