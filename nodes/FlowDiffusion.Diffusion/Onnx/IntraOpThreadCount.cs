using System.Globalization;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A thread count for ONNX Runtime inside one operator, as a session's <c>threads=N</c> option and the
/// <see cref="OnnxEnvironment.ThreadsVariable"/> variable give it: a whole number from 1 to <see cref="Max"/>.
/// </summary>
internal static class IntraOpThreadCount
{
    /// <summary>The largest count taken.</summary>
    public const int Max = 1024;

    /// <summary>What a count must be, for messages that refuse one.</summary>
    public const string Expected = "a whole number from 1 to 1024 (ONNX Runtime's threads inside one operator)";

    /// <summary>Reads <paramref name="text"/> (digits only, no sign or spaces) as a count.</summary>
    /// <param name="text">The text.</param>
    /// <param name="threads">The count, when it is one.</param>
    public static bool TryParse(string? text, out int threads) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out threads) && threads is >= 1 and <= Max;
}
