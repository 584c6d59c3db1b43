namespace FlowDiffusion.ModelGenerator.Tokenizer;

/// <summary>CLIP's byte-to-character table: printable bytes stand for themselves, the other 68 map to U+0100 onwards.</summary>
internal static class ByteSymbols
{
    /// <summary>The 256 symbols in table order: the 188 self-mapped bytes ascending, then the remapped ones ascending.</summary>
    public static IReadOnlyList<string> InTableOrder { get; } = Build();

    private static string[] Build()
    {
        static bool MapsToItself(int b) => b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;

        var symbols = new List<string>(256);
        symbols.AddRange(Enumerable.Range(0, 256).Where(MapsToItself).Select(b => ((char)b).ToString()));
        symbols.AddRange(Enumerable.Range(0, 256).Where(b => !MapsToItself(b)).Select((_, n) => ((char)(256 + n)).ToString()));
        return symbols.ToArray();
    }
}
