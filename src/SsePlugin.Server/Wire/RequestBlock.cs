using System.Buffers;
using System.Runtime.CompilerServices;

namespace SsePlugin.Server.Wire;

/// <summary>
/// One <c>BundledRows</c> request message, decoded straight into columns: no <c>Row</c> or <c>Dual</c> objects are
/// built, and numbers are read in place.
/// </summary>
/// <remarks>
/// The message is decoded before the call knows its function, so every value keeps its number, and its text
/// where Qlik sent one. A row whose width differs from the first row's is remembered, not thrown, so that the
/// call can name the function in its error; decoding stops there, as the call fails on that row.
/// </remarks>
internal sealed class RequestBlock
{
    /// <summary>The most values a row may hold; Qlik sends one per parameter, so no call comes near.</summary>
    public const int MaxRowValues = 10_000;

    // Presizing trusts the message's size only this far; blocks of more rows grow as they are read.
    private const int MaxPresizedRows = 64 * 1024;

    // Qlik's bundles are tens of kilobytes. A pooled buffer stays in the pool after the call, so messages far larger
    // are copied to an array the GC takes back.
    private const int MaxPooledCopy = 1024 * 1024;

    private readonly int _payloadLength;
    private double[][] _numbers = [];
    private string?[]?[] _strings = [];
    private int _columnCount;
    private int _capacity;
    private int _width = -1;
    private int _rowCount;
    private int _column;

    private RequestBlock(int payloadLength) => _payloadLength = payloadLength;

    /// <summary>Gets the decoded rows; columns have no names and the dual data type.</summary>
    public SseTable Table { get; private set; } = EmptyTable;

    /// <summary>Gets the index in this block of the first row whose width differs from the first row's, or -1.</summary>
    public int RaggedRow { get; private set; } = -1;

    /// <summary>Gets the number of values the ragged row held.</summary>
    public int RaggedRowWidth { get; private set; }

    private static SseTable EmptyTable { get; } = new([], 0);

    /// <summary>Decodes one serialized <c>BundledRows</c>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid <c>BundledRows</c>.</exception>
    public static RequestBlock Decode(ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return Decode(payload.FirstSpan);
        }

        var length = checked((int)payload.Length);
        if (length > MaxPooledCopy)
        {
            return Decode(payload.ToArray());
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(buffer);
            return Decode(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decodes one serialized <c>BundledRows</c>.</summary>
    /// <remarks>
    /// The decoding loops are compiled fully optimized at once: on a busy machine, tiered compilation can leave them
    /// running unoptimized, instrumented code for seconds while the background compiler waits for a core.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RequestBlock Decode(ReadOnlySpan<byte> payload)
    {
        var block = new RequestBlock(payload.Length);
        var reader = new WireReader(payload);
        var end = payload.Length;
        for (var tag = reader.ReadTag(end); tag != 0 && block.RaggedRow < 0; tag = reader.ReadTag(end))
        {
            if (tag == BundledRowsFormat.MessageTag)
            {
                block.ReadRow(ref reader, reader.ReadLengthEnd(end));
            }
            else
            {
                reader.Skip(tag, end);
            }
        }

        block.Table = block.BuildTable();
        return block;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadRow(ref WireReader reader, int end)
    {
        if (_rowCount == 0)
        {
            // The columns are sized for as many rows as the message holds if they are all as long as the first.
            _capacity = Math.Clamp(_payloadLength / BundledRowsFormat.FieldSize(end - reader.Position), 1, MaxPresizedRows);
        }

        BeginRow();
        while (true)
        {
            if (reader.TryReadNumberDual(end, out var number))
            {
                AddValue(number, null);
                continue;
            }

            var tag = reader.ReadTag(end);
            if (tag == 0)
            {
                break;
            }

            if (tag == BundledRowsFormat.MessageTag)
            {
                ReadDual(ref reader, reader.ReadLengthEnd(end));
            }
            else
            {
                reader.Skip(tag, end);
            }
        }

        EndRow();
    }

    // A dual in any form other than a lone number: with text, zero (left out), unknown fields or fields repeated.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadDual(ref WireReader reader, int end)
    {
        var number = 0d;
        string? text = null;
        for (var field = reader.ReadTag(end); field != 0; field = reader.ReadTag(end))
        {
            switch (field)
            {
                case BundledRowsFormat.NumberTag:
                    number = reader.ReadDouble(end);
                    break;
                case BundledRowsFormat.TextTag:
                    text = reader.ReadString(end);
                    break;
                default:
                    reader.Skip(field, end);
                    break;
            }
        }

        AddValue(number, text);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BeginRow()
    {
        _column = 0;
        if (_rowCount == _capacity)
        {
            _capacity *= 2;
            for (var c = 0; c < _columnCount; c++)
            {
                Array.Resize(ref _numbers[c], _capacity);
                if (_strings[c] is not null)
                {
                    Array.Resize(ref _strings[c], _capacity);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddValue(double number, string? text)
    {
        var column = _column++;
        if (column >= _columnCount)
        {
            if (_width >= 0)
            {
                return; // a ragged row: EndRow records it
            }

            AddColumn();
        }

        _numbers[column][_rowCount] = number;
        var strings = _strings[column];
        if (strings is null && !string.IsNullOrEmpty(text))
        {
            // Texts are stored once a column has one; the earlier rows of the block had none.
            strings = _strings[column] = new string[_capacity];
            Array.Fill(strings, string.Empty, 0, _rowCount);
        }

        if (strings is not null)
        {
            strings[_rowCount] = text ?? string.Empty;
        }
    }

    private void AddColumn()
    {
        if (_columnCount == MaxRowValues)
        {
            throw new InvalidDataException($"A row holds more than {MaxRowValues} values; Qlik sends one value per parameter.");
        }

        if (_columnCount == _numbers.Length)
        {
            // Doubling keeps a wide row linear in its width.
            var length = Math.Min(Math.Max(4, _columnCount * 2), MaxRowValues);
            Array.Resize(ref _numbers, length);
            Array.Resize(ref _strings, length);
        }

        _numbers[_columnCount++] = new double[_capacity];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndRow()
    {
        if (_width < 0)
        {
            _width = _column;
        }
        else if (_column != _width)
        {
            // The row is left out: the call fails on it, and no row after it is read.
            RaggedRow = _rowCount;
            RaggedRowWidth = _column;
            return;
        }

        _rowCount++;
    }

    private SseTable BuildTable()
    {
        if (_rowCount == 0)
        {
            return EmptyTable;
        }

        var columns = new SseColumn[_columnCount];
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = new SseColumn(string.Empty, SseDataType.Dual, _numbers[c], _strings[c], _rowCount);
        }

        return new SseTable(columns, _rowCount);
    }
}
