namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// CLIP's byte-level alphabet: every UTF-8 byte maps to one printable character so that BPE never sees
/// whitespace or control bytes. Bytes 33–126, 161–172 and 174–255 keep their code point; the other 68 bytes,
/// in increasing order, take U+0100 onwards.
/// </summary>
internal static class ByteSymbols
{
    private static readonly char[] ByteToSymbol = BuildTable();
    private static readonly Dictionary<char, byte> SymbolToByte = ByteToSymbol
        .Select((symbol, value) => (symbol, value))
        .ToDictionary(pair => pair.symbol, pair => (byte)pair.value);

    /// <summary>The printable symbol standing for <paramref name="value"/>.</summary>
    public static char Of(byte value) => ByteToSymbol[value];

    /// <summary>The byte a symbol stands for, or false when the character is not one of the 256 symbols.</summary>
    public static bool TryGetByte(char symbol, out byte value) => SymbolToByte.TryGetValue(symbol, out value);

    /// <summary>Maps a UTF-8 string to its byte symbols, one character per byte.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        var byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = byteCount <= 256 ? stackalloc byte[byteCount] : new byte[byteCount];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        Span<char> symbols = byteCount <= 256 ? stackalloc char[byteCount] : new char[byteCount];
        for (var i = 0; i < byteCount; i++)
            symbols[i] = ByteToSymbol[bytes[i]];
        return new string(symbols);
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 0x100;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
