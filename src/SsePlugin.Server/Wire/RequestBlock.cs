using System.Buffers;

namespace SsePlugin.Server.Wire;

/// <summary>
/// One <c>BundledRows</c> request message, decoded straight into columns: no <c>Row</c> or <c>Dual</c> objects are
/// built, and numbers are read in place.
/// </summary>
/// <remarks>
/// The message is decoded before the call knows its function, so every value keeps its number, and its text
/// where Qlik sent one. A row whose width differs from the first row's is remembered, not thrown, so that the
/// call can name the function in its error.
/// </remarks>
internal sealed class RequestBlock
{
    private double[][] _numbers = [];
    private string?[]?[] _strings = [];
    private int _capacity;
    private int _width = -1;
    private int _rowCount;
    private int _column;

    private RequestBlock(int expectedRows) => _capacity = Math.Max(expectedRows, 4);

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
    public static RequestBlock Decode(ReadOnlySpan<byte> payload)
    {
        // A numeric row of two columns takes 24 bytes; the arrays grow when rows are smaller.
        var block = new RequestBlock(Math.Min(payload.Length / 24, 64 * 1024));
        var reader = new WireReader(payload);
        var end = payload.Length;
        for (var tag = reader.ReadTag(end); tag != 0; tag = reader.ReadTag(end))
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

    private void ReadRow(ref WireReader reader, int end)
    {
        BeginRow();
        for (var tag = reader.ReadTag(end); tag != 0; tag = reader.ReadTag(end))
        {
            if (tag != BundledRowsFormat.MessageTag)
            {
                reader.Skip(tag, end);
                continue;
            }

            var dualEnd = reader.ReadLengthEnd(end);
            var number = 0d;
            string? text = null;
            for (var field = reader.ReadTag(dualEnd); field != 0; field = reader.ReadTag(dualEnd))
            {
                switch (field)
                {
                    case BundledRowsFormat.NumberTag:
                        number = reader.ReadDouble(dualEnd);
                        break;
                    case BundledRowsFormat.TextTag:
                        text = reader.ReadString(dualEnd);
                        break;
                    default:
                        reader.Skip(field, dualEnd);
                        break;
                }
            }

            AddValue(number, text);
        }

        EndRow();
    }

    private void BeginRow()
    {
        _column = 0;
        if (_rowCount == _capacity)
        {
            _capacity *= 2;
            for (var c = 0; c < _numbers.Length; c++)
            {
                Array.Resize(ref _numbers[c], _capacity);
                if (_strings[c] is not null)
                {
                    Array.Resize(ref _strings[c], _capacity);
                }
            }
        }
    }

    private void AddValue(double number, string? text)
    {
        var column = _column++;
        if (column >= _numbers.Length)
        {
            if (_width >= 0)
            {
                return; // a ragged row: EndRow records it
            }

            Array.Resize(ref _numbers, column + 1);
            Array.Resize(ref _strings, column + 1);
            _numbers[column] = new double[_capacity];
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

    private void EndRow()
    {
        if (_width < 0)
        {
            _width = _column;
        }
        else if (_column != _width)
        {
            if (RaggedRow < 0)
            {
                RaggedRow = _rowCount;
                RaggedRowWidth = _column;
            }

            // Keep the columns aligned for the rows that follow.
            for (var c = _column; c < _width; c++)
            {
                _column = c;
                AddValue(double.NaN, null);
            }
        }

        _rowCount++;
    }

    private SseTable BuildTable()
    {
        if (_rowCount == 0)
        {
            return EmptyTable;
        }

        var columns = new SseColumn[_numbers.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = new SseColumn(string.Empty, SseDataType.Dual, _numbers[c], _strings[c], _rowCount);
        }

        return new SseTable(columns, _rowCount);
    }
}
