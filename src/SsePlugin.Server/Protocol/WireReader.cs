using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace SsePlugin.Server.Protocol;

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
