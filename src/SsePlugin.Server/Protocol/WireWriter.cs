using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace SsePlugin.Server.Protocol;

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
