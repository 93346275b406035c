using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace SsePlugin.Rserve.Protocol;

/// <summary>
/// Writes QAP1 messages straight to a stream through one pooled buffer. <see cref="Measure"/> walks the values first,
/// records the length of every header and rejects what cannot be sent before a byte goes out; <see cref="SendAsync"/>
/// then streams the message with those lengths. One per connection; not thread-safe.
/// </summary>
internal sealed class QapWriter
{
    private const int BufferLength = 128 * 1024;

    // Deep enough for any real value; stops a list that contains itself before the stack overflows.
    private const int MaxDepth = 1000;

    // The type and content length of every parameter and expression header, in the order both passes meet them.
    private readonly List<(byte Type, long Length)> _headers = [];
    private int _nextHeader;
    private byte[] _buffer = [];
    private int _used;
    private long _flushed;
    private Stream _stream = Stream.Null;
    private CancellationToken _cancellationToken;

    private int Free => _buffer.Length - _used;

    private long Position => _flushed + _used;

    /// <summary>
    /// Measures a message of a text parameter and an optional expression, and checks the values can be sent.
    /// </summary>
    /// <returns>The message's length without its 16-byte header.</returns>
    /// <exception cref="ArgumentException">A text holds a NUL character, a symbol is empty, or a list contains
    /// itself.</exception>
    /// <exception cref="NotSupportedException">The value holds an <see cref="RUnsupported"/>.</exception>
    public long Measure(string text, RValue? value)
    {
        _headers.Clear();
        var length = Record(Reserve(), Qap.DtString, TextLength(text));
        if (value is not null)
        {
            var slot = Reserve();
            length += Record(slot, Qap.DtSexp, MeasureSexp(value, 0));
        }

        return length;
    }

    /// <summary>Sends the message <see cref="Measure"/> measured last; the arguments must be the same.</summary>
    public async Task SendAsync(
        Stream stream, int command, string text, RValue? value, long length, CancellationToken cancellationToken)
    {
        _stream = stream;
        _cancellationToken = cancellationToken;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferLength);
        _used = 0;
        _flushed = 0;
        _nextHeader = 0;
        try
        {
            var header = _buffer.AsSpan(0, Qap.MessageHeaderLength);
            BinaryPrimitives.WriteInt32LittleEndian(header, command);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)length);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)(length >> 32));
            _used = Qap.MessageHeaderLength;
            await WriteHeaderAsync().ConfigureAwait(false);
            await WriteTextAsync(text).ConfigureAwait(false);
            if (value is not null)
            {
                await WriteHeaderAsync().ConfigureAwait(false);
                await WriteSexpAsync(value).ConfigureAwait(false);
            }

            await FlushAsync().ConfigureAwait(false);
            CheckWritten(Qap.MessageHeaderLength + length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _stream = Stream.Null;
        }
    }

    private int Reserve()
    {
        _headers.Add(default);
        return _headers.Count - 1;
    }

    // Records a header's type and content length; returns the bytes of header and content.
    private long Record(int slot, byte type, long length)
    {
        _headers[slot] = (type, length);
        return Qap.HeaderLength(length) + length;
    }

    private long MeasureSexp(RValue value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException(
                $"The value is nested more than {MaxDepth} levels deep; does a list contain itself?", nameof(value));
        }

        var slot = Reserve();
        var attributes = value.Attributes;
        var length = attributes is { Count: > 0 } ? MeasureAttributes(attributes, depth) : 0;
        byte type;
        switch (value)
        {
            case RDoubleVector doubles:
                type = Qap.XtArrayDouble;
                length += 8L * doubles.Length;
                break;
            case RIntegerVector integers:
                type = Qap.XtArrayInt;
                length += 4L * integers.Length;
                break;
            case RLogicalVector logicals:
                type = Qap.XtArrayBool;
                length += Qap.Pad4(4L + logicals.Length);
                break;
            case RStringVector strings:
                type = Qap.XtArrayStr;
                length += Qap.Pad4(StringsLength(strings));
                break;
            case RList list:
                type = Qap.XtVector;
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var item = list.Items[i]
                        ?? throw new ArgumentException($"Element {i + 1} of a list is null.", nameof(value));
                    length += MeasureSexp(item, depth + 1);
                }

                break;
            case RSymbol symbol:
                type = Qap.XtSymName;
                length += SymbolLength(symbol.Name);
                break;
            case RNull:
                type = Qap.XtNull;
                break;
            default:
                throw new NotSupportedException(
                    $"A value that was received undecoded (XT type {((RUnsupported)value).TypeCode}) cannot be sent "
                    + "to R.");
        }

        return Record(slot, attributes is { Count: > 0 } ? (byte)(type | Qap.HasAttributes) : type, length);
    }

    // Attributes travel as a tagged pairlist: each value, then its name as a symbol.
    private long MeasureAttributes(IReadOnlyList<KeyValuePair<string, RValue>> attributes, int depth)
    {
        var slot = Reserve();
        long length = 0;
        foreach (var (name, value) in attributes)
        {
            length += MeasureSexp(
                value ?? throw new ArgumentException($"Attribute '{name}' has no value.", nameof(attributes)),
                depth + 1);
            length += Record(Reserve(), Qap.XtSymName, SymbolLength(name));
        }

        return Record(slot, Qap.XtListTag, length);
    }

    private static long SymbolLength(string name) =>
        string.IsNullOrEmpty(name)
            ? throw new ArgumentException("Symbols and attribute names cannot be empty.", nameof(name))
            : TextLength(name);

    // A NUL-terminated UTF-8 text padded with NULs to 4 bytes.
    private static long TextLength(string text) => Qap.Pad4(NulTerminatedLength(text));

    private static long NulTerminatedLength(string text) =>
        text.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException("R strings cannot contain NUL characters.", nameof(text))
            : Encoding.UTF8.GetByteCount(text) + 1L;

    // Strings back to back, NA as 0xFF NUL; no UTF-8 text starts with 0xFF, so none needs R's escape for it.
    private static long StringsLength(RStringVector strings)
    {
        long length = 0;
        foreach (var text in strings.AsSpan())
        {
            length += text is null ? 2 : NulTerminatedLength(text);
        }

        return length;
    }

    private async ValueTask WriteSexpAsync(RValue value)
    {
        var contentLength = _headers[_nextHeader].Length;
        await WriteHeaderAsync().ConfigureAwait(false);
        var start = Position;
        if (value.Attributes is { Count: > 0 } attributes)
        {
            await WriteHeaderAsync().ConfigureAwait(false);
            foreach (var (name, attribute) in attributes)
            {
                await WriteSexpAsync(attribute).ConfigureAwait(false);
                await WriteHeaderAsync().ConfigureAwait(false);
                await WriteTextAsync(name).ConfigureAwait(false);
            }
        }

        switch (value)
        {
            case RDoubleVector doubles:
                await WriteElementsAsync(doubles.Values, doubles.Length).ConfigureAwait(false);
                break;
            case RIntegerVector integers:
                await WriteElementsAsync(integers.Values, integers.Length).ConfigureAwait(false);
                break;
            case RLogicalVector logicals:
                await EnsureAsync(4).ConfigureAwait(false);
                BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used), logicals.Length);
                _used += 4;
                await WriteElementsAsync(logicals.Values, logicals.Length).ConfigureAwait(false);
                await PadAsync(start, 0xFF).ConfigureAwait(false);
                break;
            case RStringVector strings:
                await WriteStringsAsync(strings).ConfigureAwait(false);
                await PadAsync(start, 0x01).ConfigureAwait(false);
                break;
            case RList list:
                foreach (var item in list.Items)
                {
                    await WriteSexpAsync(item).ConfigureAwait(false);
                }

                break;
            case RSymbol symbol:
                await WriteTextAsync(symbol.Name).ConfigureAwait(false);
                break;
        }

        CheckWritten(start + contentLength);
    }

    private async ValueTask WriteHeaderAsync()
    {
        await EnsureAsync(8).ConfigureAwait(false);
        var (type, length) = _headers[_nextHeader++];
        _used += Qap.WriteHeader(_buffer.AsSpan(_used), type, length);
    }

    private async ValueTask WriteElementsAsync<T>(T[] values, int count)
        where T : unmanaged
    {
        var done = 0;
        while (done < count)
        {
            await EnsureAsync(Unsafe.SizeOf<T>()).ConfigureAwait(false);
            done += CopyElements(values.AsSpan(done, count - done));
        }
    }

    private int CopyElements<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var count = Math.Min(values.Length, Free / Unsafe.SizeOf<T>());
        var bytes = MemoryMarshal.AsBytes(values[..count]);
        bytes.CopyTo(_buffer.AsSpan(_used));
        _used += bytes.Length;
        return count;
    }

    private async ValueTask WriteStringsAsync(RStringVector strings)
    {
        for (var i = 0; i < strings.Length; i++)
        {
            if (strings.Values[i] is { } text)
            {
                await WriteNulTerminatedAsync(text).ConfigureAwait(false);
            }
            else
            {
                await EnsureAsync(2).ConfigureAwait(false);
                _buffer[_used++] = Qap.NaStringByte;
                _buffer[_used++] = 0;
            }
        }
    }

    // A text parameter or symbol: NUL-terminated and padded with NULs.
    private async ValueTask WriteTextAsync(string text)
    {
        var start = Position;
        await WriteNulTerminatedAsync(text).ConfigureAwait(false);
        await PadAsync(start, 0).ConfigureAwait(false);
    }

    private async ValueTask WriteNulTerminatedAsync(string text)
    {
        var done = 0;
        while (!CopyText(text, ref done))
        {
            await FlushAsync().ConfigureAwait(false);
        }

        await EnsureAsync(1).ConfigureAwait(false);
        _buffer[_used++] = 0;
    }

    // Copies as much of the text as fits (whole characters only); true when all of it has been copied.
    private bool CopyText(string text, ref int done)
    {
        Utf8.FromUtf16(text.AsSpan(done), _buffer.AsSpan(_used), out var read, out var written);
        done += read;
        _used += written;
        return done == text.Length;
    }

    private async ValueTask PadAsync(long start, byte fill)
    {
        var padding = (int)(Qap.Pad4(Position - start) - (Position - start));
        await EnsureAsync(padding).ConfigureAwait(false);
        _buffer.AsSpan(_used, padding).Fill(fill);
        _used += padding;
    }

    private ValueTask EnsureAsync(int bytes) => Free >= bytes ? default : FlushAsync();

    private async ValueTask FlushAsync()
    {
        await _stream.WriteAsync(_buffer.AsMemory(0, _used), _cancellationToken).ConfigureAwait(false);
        _flushed += _used;
        _used = 0;
    }

    // The lengths were measured before sending; a difference means the caller changed the values meanwhile.
    private void CheckWritten(long expected)
    {
        if (Position != expected)
        {
            throw new InvalidOperationException(
                "A value changed while it was being sent to Rserve; the connection is unusable.");
        }
    }
}
