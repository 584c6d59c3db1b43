using System.Globalization;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>The process's anonymous resident memory (heaps, arenas), from <c>/proc/self/status</c>.</summary>
internal static class ResidentSet
{
    public static long AnonymousBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                return long.Parse(line["RssAnon:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }

        throw new InvalidOperationException("no RssAnon in /proc/self/status");
    }
}
