using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// The protobuf wire format of the three messages that carry rows (<c>BundledRows</c>, <c>Row</c>, <c>Dual</c>),
/// each of which has only a repeated message field 1, or a double field 1 and a string field 2.
/// </summary>
internal static class BundledRowsFormat
{
    /// <summary>Field 1, length-delimited: <c>BundledRows.rows</c> and <c>Row.duals</c>.</summary>
    public const byte MessageTag = (1 << 3) | 2;

    /// <summary>Field 1, 64-bit: <c>Dual.numData</c>.</summary>
    public const byte NumberTag = (1 << 3) | 1;

    /// <summary>Field 2, length-delimited: <c>Dual.strData</c>.</summary>
    public const byte TextTag = (2 << 3) | 2;

    /// <summary>The bytes of a varint.</summary>
    public static int VarintSize(uint value) => (BitOperations.Log2(value | 1) / 7) + 1;

    /// <summary>The bytes of a length-delimited field of <paramref name="length"/> bytes, tag included.</summary>
    public static int FieldSize(int length) => 1 + VarintSize((uint)length) + length;

    /// <summary>The UTF-8 bytes of a text; 0 for none.</summary>
    public static int TextBytes(string? text) => string.IsNullOrEmpty(text) ? 0 : Encoding.UTF8.GetByteCount(text);

    /// <summary>
    /// The bytes of a <c>Dual</c>'s content; proto3 leaves out a zero number (not -0 or NaN) and an empty text.
    /// </summary>
    public static int DualSize(double number, int textBytes) =>
        (BitConverter.DoubleToInt64Bits(number) != 0 ? 9 : 0) + (textBytes == 0 ? 0 : FieldSize(textBytes));
}

/// <summary>
/// Reads protobuf wire format from a span, failing with <see cref="MalformedRequestException"/> on malformed input.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    /// <summary>Gets the position of the next byte.</summary>
    public int Position { get; private set; }

    /// <summary>Reads a field tag; 0 at the end of <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadTag(int end)
    {
        if (Position >= end)
        {
            return 0;
        }

        // Field number 0 does not exist; taking its tag for the end would drop the rest of the message unread.
        var tag = ReadVarint();
        return tag >> 3 is > 0 and <= uint.MaxValue >> 3
            ? (uint)tag
            : throw Malformed("a field has number 0 or one out of range");
    }

    /// <summary>Reads the length of a length-delimited field and returns where the field ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadLengthEnd(int end)
    {
        // A length read past the end (its tag was the last byte) leaves the position beyond it.
        var length = ReadVarint();
        return Position <= end && length <= (ulong)(end - Position)
            ? Position + (int)length
            : throw Malformed("a field runs past the end of its message");
    }

    /// <summary>Reads a little-endian double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double ReadDouble(int end)
    {
        if (end - Position < 8)
        {
            throw Malformed("a number runs past the end of its message");
        }

        var value = BinaryPrimitives.ReadDoubleLittleEndian(_data.Slice(Position, 8));
        Position += 8;
        return value;
    }

    /// <summary>
    /// Reads a <c>Dual</c> field that holds a number and no text (field tag, length 9, number tag, 8 bytes), the
    /// form numbers take on the wire; reads nothing and returns <see langword="false"/> for any other field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadNumberDual(int end, out double number)
    {
        var position = Position;
        if (end - position >= 11
            && _data[position] == BundledRowsFormat.MessageTag
            && _data[position + 1] == 9
            && _data[position + 2] == BundledRowsFormat.NumberTag)
        {
            number = BinaryPrimitives.ReadDoubleLittleEndian(_data.Slice(position + 3, 8));
            Position = position + 11;
            return true;
        }

        number = 0;
        return false;
    }

    /// <summary>Reads a UTF-8 string.</summary>
    public string ReadString(int end)
    {
        var stringEnd = ReadLengthEnd(end);
        var value = Encoding.UTF8.GetString(_data[Position..stringEnd]);
        Position = stringEnd;
        return value;
    }

    /// <summary>Skips a field this reader does not know, as protobuf requires.</summary>
    public void Skip(uint tag, int end)
    {
        switch (tag & 7)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Advance(8, end);
                break;
            case 2:
                Position = ReadLengthEnd(end);
                break;
            case 5:
                Advance(4, end);
                break;
            default:
                throw Malformed($"wire type {tag & 7} is not valid here");
        }

        if (Position > end)
        {
            throw Malformed("a field runs past the end of its message");
        }
    }

    private void Advance(int bytes, int end)
    {
        if (end - Position < bytes)
        {
            throw Malformed("a field runs past the end of its message");
        }

        Position += bytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadVarint()
    {
        // Tags and the lengths of rows and duals take one byte.
        var position = Position;
        if ((uint)position < (uint)_data.Length && _data[position] < 0x80)
        {
            Position = position + 1;
            return _data[position];
        }

        return ReadLongVarint();
    }

    private ulong ReadLongVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64 && Position < _data.Length; shift += 7)
        {
            var b = _data[Position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Malformed("a varint is cut off or longer than 10 bytes");
    }

    private static MalformedRequestException Malformed(string problem) =>
        new($"The message is not a valid BundledRows: {problem}.");
}

/// <summary>Writes protobuf wire format straight into a buffer writer, a span at a time.</summary>
internal ref struct WireWriter(IBufferWriter<byte> output)
{
    private Span<byte> _span;
    private int _position;

    /// <summary>Makes sure the next <paramref name="bytes"/> fit in the current span.</summary>
    public void Reserve(int bytes)
    {
        if (_span.Length - _position < bytes)
        {
            output.Advance(_position);
            _span = output.GetSpan(bytes);
            _position = 0;
        }
    }

    public void WriteByte(byte value) => _span[_position++] = value;

    public void WriteVarint(uint value)
    {
        while (value >= 0x80)
        {
            _span[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _span[_position++] = (byte)value;
    }

    public void WriteDouble(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_span[_position..], value);
        _position += 8;
    }

    public void WriteUtf8(string value, int byteCount) =>
        _position += Encoding.UTF8.GetBytes(value, _span.Slice(_position, byteCount));

    /// <summary>Commits what was written.</summary>
    public readonly void Flush() => output.Advance(_position);
}
