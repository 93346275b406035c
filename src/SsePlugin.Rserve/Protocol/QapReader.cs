using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SsePlugin.Rserve.Protocol;

/// <summary>
/// Decodes the expression in the payload of a reply, failing with <see cref="RserveException"/> on malformed input.
/// </summary>
internal ref struct QapReader
{
    // Deeper values are refused rather than risking the stack.
    private const int MaxDepth = 1000;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    private QapReader(ReadOnlySpan<byte> data)
    {
        _data = data;
    }

    /// <summary>Decodes the DT_SEXP parameter of an eval reply.</summary>
    public static RValue ReadResult(ReadOnlySpan<byte> payload)
    {
        var reader = new QapReader(payload);
        var (type, end) = reader.ReadHeader(payload.Length);
        return (type & ~Qap.Large) == Qap.DtSexp
            ? reader.ReadSexp(end, 0)
            : throw Malformed(
                $"the reply holds a parameter of type {type & ~Qap.Large} instead of an expression (DT_SEXP)");
    }

    private (byte Type, int End) ReadHeader(int end)
    {
        if (end - _position < 4)
        {
            throw Malformed("a header runs past the end of its container");
        }

        var word = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
        var type = (byte)word;
        long length = word >> 8;
        _position += 4;
        if ((type & Qap.Large) != 0)
        {
            if (end - _position < 4)
            {
                throw Malformed("a large header runs past the end of its container");
            }

            length |= (long)BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]) << 24;
            _position += 4;
        }

        return length <= end - _position
            ? (type, _position + (int)length)
            : throw Malformed("a value runs past the end of its container");
    }

    private RValue ReadSexp(int end, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Malformed($"values are nested more than {MaxDepth} levels deep");
        }

        var (flags, contentEnd) = ReadHeader(end);
        var attributes = (flags & Qap.HasAttributes) != 0 ? ReadAttributes(contentEnd, depth) : null;
        var type = (byte)(flags & ~(Qap.HasAttributes | Qap.Large));
        RValue value = type switch
        {
            Qap.XtNull => RNull.Instance,
            Qap.XtArrayDouble => new RDoubleVector(ReadArray<double>(contentEnd)) { Attributes = attributes },
            Qap.XtArrayInt => new RIntegerVector(ReadArray<int>(contentEnd)) { Attributes = attributes },
            Qap.XtArrayBool => new RLogicalVector(ReadLogicals(contentEnd)) { Attributes = attributes },
            Qap.XtArrayStr => new RStringVector(ReadStrings(contentEnd)) { Attributes = attributes },
            Qap.XtStr => new RStringVector([ReadText(contentEnd)]) { Attributes = attributes },
            Qap.XtVector or Qap.XtVectorExp =>
                new RList(ReadItems(contentEnd, depth, null)) { Attributes = attributes },
            Qap.XtListTag or Qap.XtListNoTag => ReadPairList(contentEnd, depth, type == Qap.XtListTag, attributes),
            Qap.XtSymName => new RSymbol(ReadText(contentEnd)) { Attributes = attributes },
            _ => new RUnsupported(type) { Attributes = attributes },
        };
        _position = contentEnd;
        return value;
    }

    // Attributes come as a tagged pairlist: value, then its name as a symbol.
    private KeyValuePair<string, RValue>[]? ReadAttributes(int end, int depth)
    {
        if (ReadSexp(end, depth + 1) is not RList { Names: { } names } pairs)
        {
            return null;
        }

        var attributes = new KeyValuePair<string, RValue>[pairs.Items.Count];
        for (var i = 0; i < attributes.Length; i++)
        {
            attributes[i] = new(names[i] ?? string.Empty, pairs.Items[i]);
        }

        return attributes;
    }

    private RList ReadPairList(int end, int depth, bool tagged, KeyValuePair<string, RValue>[]? attributes)
    {
        var names = tagged ? new List<string?>() : null;
        var items = ReadItems(end, depth, names);
        if (names is null)
        {
            return new RList(items) { Attributes = attributes };
        }

        return new RList(items) { Attributes = [new("names", new RStringVector([.. names])), .. attributes ?? []] };
    }

    // Expressions back to back; with names, each is followed by its tag.
    private List<RValue> ReadItems(int end, int depth, List<string?>? names)
    {
        var items = new List<RValue>();
        while (_position < end)
        {
            items.Add(ReadSexp(end, depth + 1));
            names?.Add(ReadSexp(end, depth + 1) switch
            {
                RSymbol symbol => symbol.Name,
                RStringVector { Length: 1 } text => text.Values[0],
                _ => null,
            });
        }

        return items;
    }

    private T[] ReadArray<T>(int end)
        where T : unmanaged
    {
        var bytes = _data[_position..end];
        if (bytes.Length % Unsafe.SizeOf<T>() != 0)
        {
            throw Malformed($"an array of {typeof(T).Name} has {bytes.Length} bytes");
        }

        var values = GC.AllocateUninitializedArray<T>(bytes.Length / Unsafe.SizeOf<T>());
        bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    // An int32 count, then one byte per element (padding follows).
    private byte[] ReadLogicals(int end)
    {
        if (end - _position < 4)
        {
            throw Malformed("a logical vector has no count");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(_data[_position..]);
        var bytes = _data[(_position + 4)..end];
        return (uint)count <= (uint)bytes.Length
            ? bytes[..count].ToArray()
            : throw Malformed($"a logical vector claims {count} elements");
    }

    // NUL-terminated strings back to back, padded with 0x01; NA is 0xFF alone, and a leading 0xFF of a real string is
    // doubled.
    private string?[] ReadStrings(int end)
    {
        var bytes = _data[_position..end];
        var strings = new string?[bytes.Count((byte)0)];
        for (var i = 0; i < strings.Length; i++)
        {
            var nul = bytes.IndexOf((byte)0);
            var text = bytes[..nul];
            if (text is [Qap.NaStringByte, ..])
            {
                strings[i] = text.Length == 1 ? null : Encoding.UTF8.GetString(text[1..]);
            }
            else
            {
                strings[i] = Encoding.UTF8.GetString(text);
            }

            bytes = bytes[(nul + 1)..];
        }

        return strings;
    }

    private readonly string ReadText(int end)
    {
        var bytes = _data[_position..end];
        var nul = bytes.IndexOf((byte)0);
        return nul >= 0 ? Encoding.UTF8.GetString(bytes[..nul]) : throw Malformed("a text has no terminating NUL");
    }

    private static RserveException Malformed(string what) => new($"Rserve sent a malformed reply: {what}.");
}
