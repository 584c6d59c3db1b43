using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Formats.Torch;

/// <summary>
/// Reads a pickle (protocols 0–5, as <c>torch.save</c> and Python write them) into inert values (PickleObjects.cs):
/// no global is ever imported or called. The calls that rebuild tensors (<c>torch._utils._rebuild_tensor_v2</c> and the
/// Parameter and subclass wrappers around it) become <see cref="TorchTensorView"/>s of the storages that
/// <c>persistentLoad</c> names, dictionaries (dict, OrderedDict) become <see cref="PickleDict"/>s, and any other call
/// or object stays a <see cref="PickleCall"/> that is never run. Memory is bounded by the pickle's length: every value
/// made costs at least one opcode byte, and the stack and memo are capped.
/// </summary>
internal sealed class Unpickler
{
    private const int MaxStack = 10_000_000;
    private const int MaxMemo = 10_000_000;
    private const string TorchUtils = "torch._utils";

    private readonly string _path;
    private readonly string _what;
    private readonly byte[] _data;
    private readonly Func<object?, int, object?> _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly bool _complete;
    private int _at;

    private Unpickler(string path, string what, byte[] data, int start, bool complete, Func<object?, int, object?> persistentLoad)
    {
        _path = path;
        _what = what;
        _data = data;
        _at = start;
        _complete = complete;
        _persistentLoad = persistentLoad;
    }

    /// <summary>
    /// Reads the pickle in <paramref name="data"/> (called <paramref name="what"/> in messages about <paramref name="path"/>)
    /// to its STOP and returns the value it builds. <paramref name="persistentLoad"/> turns a persistent id (and the byte
    /// position, for messages) into a value.
    /// </summary>
    public static object? Load(string path, string what, byte[] data, Func<object?, int, object?> persistentLoad) =>
        new Unpickler(path, what, data, 0, complete: true, persistentLoad).Run();

    /// <summary>
    /// Reads the pickle that starts at <paramref name="start"/> in <paramref name="data"/>, the first bytes of a file
    /// (all of it when <paramref name="complete"/>), and gives where it ends. Throws <see cref="NeedsMoreBytes"/> when
    /// the pickle runs past an incomplete <paramref name="data"/>.
    /// </summary>
    public static object? LoadAt(string path, string what, byte[] data, int start, bool complete, Func<object?, int, object?> persistentLoad, out int end)
    {
        var unpickler = new Unpickler(path, what, data, start, complete, persistentLoad);
        var value = unpickler.Run();
        end = unpickler._at;
        return value;
    }

    /// <summary>Whether <paramref name="callable"/> is one of torch's tensor rebuilders that are not read (quantized, sparse, …).</summary>
    public static bool IsUnreadTensorRebuild(object? callable) =>
        callable is PickleGlobal { Module: TorchUtils } global && global.Name.StartsWith("_rebuild_", StringComparison.Ordinal);

    private SafetensorsException Bad(string problem) => new(_path, null, $"{_what} at byte {_at}: {problem}");

    private object? Run()
    {
        while (true)
        {
            if (_at >= _data.Length)
            {
                throw _complete ? Bad("the pickle ends without its STOP opcode; the file is truncated.") : new NeedsMoreBytes();
            }

            var opcode = _data[_at++];
            switch (opcode)
            {
                case 0x80: // PROTO
                    var protocol = Byte();
                    if (protocol > 5)
                    {
                        throw Bad($"pickle protocol {protocol} is newer than the 5 this reader knows.");
                    }

                    break;
                case 0x95: // FRAME: a length hint only
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    return Pop();
                case (byte)'(': // MARK
                    if (_marks.Count >= MaxStack)
                    {
                        throw Bad($"the pickle sets more than {MaxStack} marks.");
                    }

                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;
                case (byte)'N':
                    Push(null);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case (byte)'K': // BININT1
                    Push((long)Byte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case 0x8a: // LONG1
                    Push(LittleEndianInteger(Take(Byte())));
                    break;
                case 0x8b: // LONG4
                    Push(LittleEndianInteger(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))));
                    break;
                case (byte)'I': // INT (protocol 0): I01/I00 are True/False
                    var integer = Line();
                    Push(integer switch { "01" => true, "00" => false, _ => ParseInteger(integer) });
                    break;
                case (byte)'L': // LONG (protocol 0)
                    Push(ParseInteger(Line().TrimEnd('L')));
                    break;
                case (byte)'F': // FLOAT (protocol 0)
                    Push(double.TryParse(Line(), NumberStyles.Float, CultureInfo.InvariantCulture, out var text) ? text : throw Bad("a FLOAT that is not a number."));
                    break;
                case (byte)'G': // BINFLOAT
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                    break;
                case (byte)'X': // BINUNICODE
                    Push(Utf8(Take(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(Utf8(Take(Byte())));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(Utf8(Take(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8))))));
                    break;
                case (byte)'T': // BINSTRING
                    Push(Encoding.Latin1.GetString(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(Encoding.Latin1.GetString(Take(Byte())));
                    break;
                case (byte)'B': // BINBYTES
                    Push(Take(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray());
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(Take(Byte()).ToArray());
                    break;
                case 0x8e or 0x96: // BINBYTES8, BYTEARRAY8
                    Push(Take(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))).ToArray());
                    break;
                case (byte)')': // EMPTY_TUPLE
                    Push(Array.Empty<object?>());
                    break;
                case (byte)'t': // TUPLE
                    Push(PopMark());
                    break;
                case 0x85 or 0x86 or 0x87: // TUPLE1, TUPLE2, TUPLE3
                    var size = opcode - 0x84;
                    // As in Python's unpickler, the items must lie above the last MARK (a MARK starts a new stack there).
                    if (_stack.Count - size < (_marks.Count > 0 ? _marks.Peek() : 0))
                    {
                        throw Bad("a TUPLE opcode with too few items on the stack.");
                    }

                    var items = _stack.GetRange(_stack.Count - size, size).ToArray();
                    _stack.RemoveRange(_stack.Count - size, size);
                    Push(items);
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new PickleList());
                    break;
                case (byte)'l': // LIST
                    var list = new PickleList();
                    list.Items.AddRange(PopMark());
                    Push(list);
                    break;
                case (byte)'a': // APPEND
                    var appended = Pop();
                    Append(Peek(), [appended]);
                    break;
                case (byte)'e': // APPENDS
                    var many = PopMark();
                    Append(Peek(), many);
                    break;
                case (byte)'}': // EMPTY_DICT
                    Push(new PickleDict());
                    break;
                case (byte)'d': // DICT
                    var dict = new PickleDict();
                    SetItems(dict, PopMark());
                    Push(dict);
                    break;
                case (byte)'s': // SETITEM
                    var value = Pop();
                    var key = Pop();
                    SetItems(Peek(), [key, value]);
                    break;
                case (byte)'u': // SETITEMS
                    var pairs = PopMark();
                    SetItems(Peek(), pairs);
                    break;
                case 0x8f: // EMPTY_SET
                    Push(new PickleList());
                    break;
                case 0x90: // ADDITEMS
                    var added = PopMark();
                    Append(Peek(), added);
                    break;
                case 0x91: // FROZENSET
                    var frozen = new PickleList();
                    frozen.Items.AddRange(PopMark());
                    Push(frozen);
                    break;
                case (byte)'c': // GLOBAL
                    var module = Line();
                    Push(new PickleGlobal(module, Line()));
                    break;
                case 0x93: // STACK_GLOBAL
                    var name = Pop();
                    var owner = Pop();
                    Push(owner is string m && name is string n ? new PickleGlobal(m, n) : throw Bad("STACK_GLOBAL with names that are not strings."));
                    break;
                case (byte)'R': // REDUCE
                    var arguments = Pop();
                    Push(Call(Pop(), arguments));
                    break;
                case 0x81: // NEWOBJ
                    Pop();
                    Push(new PickleCall(Pop()));
                    break;
                case 0x92: // NEWOBJ_EX
                    Pop();
                    Pop();
                    Push(new PickleCall(Pop()));
                    break;
                case (byte)'i': // INST
                    var instModule = Line();
                    var instName = Line();
                    PopMark();
                    Push(new PickleCall(new PickleGlobal(instModule, instName)));
                    break;
                case (byte)'o': // OBJ
                    var objItems = PopMark();
                    Push(new PickleCall(objItems.Length > 0 ? objItems[0] : null));
                    break;
                case (byte)'b': // BUILD: the state is set on an object we never make; dictionaries keep their items
                    Pop();
                    Peek();
                    break;
                case (byte)'Q': // BINPERSID
                    var position = _at - 1;
                    Push(_persistentLoad(Pop(), position));
                    break;
                case (byte)'P': // PERSID
                    var persistentAt = _at - 1;
                    Push(_persistentLoad(Line(), persistentAt));
                    break;
                case (byte)'q': // BINPUT
                    Memo(Byte());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                    break;
                case 0x94: // MEMOIZE
                    Memo(_memo.Count);
                    break;
                case (byte)'p': // PUT
                    Memo(ParseIndex(Line()));
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(Byte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))));
                    break;
                case (byte)'g': // GET
                    Push(Recall(ParseIndex(Line())));
                    break;
                default:
                    _at--;
                    throw Bad($"pickle opcode 0x{opcode:x2} ('{(opcode is >= 0x20 and < 0x7f ? (char)opcode : '?')}') is not read here (extension registry, out-of-band buffers or protocol 0 strings).");
            }
        }
    }

    // REDUCE: only dictionaries, sets and torch's tensor rebuilders are made; every other call stays inert.
    private object? Call(object? callable, object? arguments)
    {
        var args = arguments as object?[] ?? throw Bad("REDUCE with arguments that are not a tuple.");
        if (callable is not PickleGlobal global)
        {
            return new PickleCall(callable);
        }

        switch (global.FullName)
        {
            case "collections.OrderedDict" or "builtins.dict" or "__builtin__.dict":
                var dict = new PickleDict();
                if (args.Length == 1 && args[0] is PickleList pairs)
                {
                    foreach (var pair in pairs.Items)
                    {
                        if (pair is object?[] { Length: 2 } kv)
                        {
                            dict.Set(kv[0], kv[1]);
                        }
                    }
                }

                return dict;
            case "builtins.set" or "builtins.frozenset" or "__builtin__.set":
                var set = new PickleList();
                if (args.Length == 1 && args[0] is PickleList members)
                {
                    set.Items.AddRange(members.Items);
                }

                return set;
            case TorchUtils + "._rebuild_tensor_v2" or TorchUtils + "._rebuild_tensor":
                return TensorView(global, args);
            case TorchUtils + "._rebuild_parameter" or TorchUtils + "._rebuild_parameter_with_state":
                return args.Length > 0 && args[0] is TorchTensorView parameter ? parameter : throw Bad($"{global.FullName} without a tensor to wrap.");
            case "torch._tensor._rebuild_from_type_v2" or "torch._tensor._rebuild_from_type":
                // (function, subclass, arguments, state): the subclass is dropped and the function rebuilt as above.
                return args.Length >= 3 && args[2] is object?[] inner ? Call(args[0], inner) : throw Bad($"{global.FullName} with malformed arguments.");
            default:
                return new PickleCall(global);
        }
    }

    private TorchTensorView TensorView(PickleGlobal global, object?[] args)
    {
        if (args.Length < 4 || args[0] is not TorchStorage storage || args[1] is not long offset || Longs(args[2]) is not { } shape || Longs(args[3]) is not { } stride
            || shape.Length != stride.Length)
        {
            throw Bad($"{global.FullName} with arguments that are not (storage, offset, size, stride).");
        }

        return new TorchTensorView(storage, offset, shape, stride);
    }

    private static long[]? Longs(object? value) =>
        value is object?[] items && items.All(i => i is long) ? items.Select(i => (long)i!).ToArray() : null;

    private void Append(object? target, IEnumerable<object?> items)
    {
        if (target is PickleList list)
        {
            list.Items.AddRange(items);
        }
    }

    private void SetItems(object? target, object?[] flat)
    {
        if (flat.Length % 2 != 0)
        {
            throw Bad("SETITEMS with an odd number of items.");
        }

        if (target is not PickleDict dict)
        {
            return;
        }

        for (var i = 0; i < flat.Length; i += 2)
        {
            dict.Set(flat[i], flat[i + 1]);
        }
    }

    private void Push(object? value)
    {
        if (_stack.Count >= MaxStack)
        {
            throw Bad($"the pickle's stack grows past {MaxStack} items.");
        }

        _stack.Add(value);
    }

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() >= _stack.Count))
        {
            throw Bad("an opcode pops an empty stack; the pickle is damaged.");
        }

        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Bad("an opcode reads an empty stack; the pickle is damaged.");

    private object?[] PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Bad("an opcode needs a MARK that is not there; the pickle is damaged.");
        }

        var mark = _marks.Pop();
        if (mark > _stack.Count)
        {
            throw Bad("a MARK lies above the stack's top; the pickle is damaged.");
        }

        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void Memo(long index)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index))
        {
            throw Bad($"the pickle's memo grows past {MaxMemo} entries.");
        }

        _memo[index] = Peek();
    }

    private object? Recall(long index) => _memo.TryGetValue(index, out var value) ? value : throw Bad($"memo entry {index} is read before it is written; the pickle is damaged.");

    private byte Byte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count >= 0 && count > _data.Length - _at && !_complete)
        {
            throw new NeedsMoreBytes();
        }

        if (count < 0 || count > _data.Length - _at)
        {
            throw Bad($"an opcode needs {count} more bytes than the pickle has; the file is truncated.");
        }

        var span = _data.AsSpan(_at, count);
        _at += count;
        return span;
    }

    private int Length(long count) => count is >= 0 and <= int.MaxValue ? (int)count : throw Bad($"a length of {count} bytes runs past the pickle.");

    private int Length(ulong count) => count <= int.MaxValue ? (int)count : throw Bad($"a length of {count} bytes runs past the pickle.");

    private string Line()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _at);
        if (end < 0 && !_complete)
        {
            throw new NeedsMoreBytes();
        }

        if (end < 0)
        {
            throw Bad("a text opcode without its newline; the file is truncated.");
        }

        var text = Encoding.UTF8.GetString(_data, _at, end - _at);
        _at = end + 1;
        return text;
    }

    private string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Bad("a string that is not UTF-8.");
        }
    }

    // LONG1/LONG4: two's complement, little-endian; values that fit 64 bits become long, the rest stay BigInteger.
    private static object LittleEndianInteger(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private object ParseInteger(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value
        : BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big) ? big
        : throw Bad($"an integer '{text}' that does not parse.");

    private long ParseIndex(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw Bad($"a memo index '{text}' that does not parse.");

    /// <summary>The pickle runs past the bytes given, which are not the whole file: read more and start again.</summary>
    internal sealed class NeedsMoreBytes : Exception
    {
    }
}
