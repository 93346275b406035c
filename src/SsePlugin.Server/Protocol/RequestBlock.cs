using System.Runtime.CompilerServices;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// Request rows decoded straight into columns, one message after another: no <c>Row</c> or <c>Dual</c> objects are
/// built, and numbers are read in place. A call decodes each message into a block of its own when the rows may be
/// kept, appends every message to one block when it needs whole columns, or clears and refills one block per
/// message for a loop that is done with the rows before it reads more.
/// </summary>
/// <remarks>
/// Every value keeps its number, and its text where Qlik sent one; the call checks them against its function's
/// parameters. A row whose width differs from the first row's is remembered, not thrown, so that the call can name
/// the function in its error; decoding stops there, as the call fails on that row.
/// </remarks>
/// <param name="expectedRows">
/// The rows the call expects in all (Qlik's cardinality). The columns are sized for them once the first row has
/// shown it holds <paramref name="expectedWidth"/> values, if that stays within <see cref="MaxPresizedValues"/>;
/// otherwise, and with 0, they are sized for the first message.
/// </param>
/// <param name="expectedWidth">The values a row should hold: the function's parameters.</param>
internal sealed class RequestBlock(int expectedRows = 0, int expectedWidth = 0)
{
    /// <summary>The most values a row may hold; Qlik sends one per parameter, so no call comes near.</summary>
    public const int MaxRowValues = 10_000;

    /// <summary>
    /// The most values (rows times columns) presized for the expected rows: 32 MB of numbers, as much again for texts.
    /// </summary>
    public const int MaxPresizedValues = 4 * 1024 * 1024;

    // Presizing trusts a message's size only this far; blocks of more rows grow as they are read.
    private const int MaxPresizedRows = 64 * 1024;

    // What a string takes besides its characters: object header, method table, length and terminator, rounded up.
    private const int StringOverheadBytes = 24;

    private double[][] _numbers = [];
    private string?[]?[] _strings = [];
    private int _columnCount;
    private int _capacity;
    private int _width = -1;
    private int _column;
    private long _textBytes;

    /// <summary>Gets the number of rows held.</summary>
    public int RowCount { get; private set; }

    /// <summary>Gets the number of values in each row; 0 before the first row.</summary>
    public int Width => _columnCount;

    /// <summary>Gets the index of the first row whose width differs from the first row's, or -1.</summary>
    public int RaggedRow { get; private set; } = -1;

    /// <summary>Gets the number of values the ragged row held.</summary>
    public int RaggedRowWidth { get; private set; }

    /// <summary>
    /// Gets or sets the most memory the block may hold, in bytes (see <see cref="HeldBytes"/>): its columns grow no
    /// further, and decoding fails with <see cref="InsufficientMemoryException"/> once the rows take more. Default no
    /// limit.
    /// </summary>
    public long MaxHeldBytes { get; set; } = long.MaxValue;

    /// <summary>Gets the memory the block holds, in bytes: its columns' arrays, whole, and its texts.</summary>
    /// <remarks>Counted per column and per text as they are decoded, never per number.</remarks>
    public long HeldBytes => _capacity * RowBytes + _textBytes;

    // The bytes a row takes in the columns' arrays: a number for every column, a reference for every column of texts.
    private long RowBytes
    {
        get
        {
            long bytes = 0;
            for (var c = 0; c < _columnCount; c++)
            {
                bytes += _strings[c] is null ? sizeof(double) : sizeof(double) + IntPtr.Size;
            }

            return bytes;
        }
    }

    /// <summary>Decodes one serialized <c>BundledRows</c> after the rows already held.</summary>
    /// <remarks>
    /// The decoding loops are compiled fully optimized at once: on a busy machine, tiered compilation can leave them
    /// running unoptimized, instrumented code for seconds while the background compiler waits for a core.
    /// </remarks>
    /// <exception cref="MalformedRequestException">The bytes are not a valid <c>BundledRows</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Append(ReadOnlySpan<byte> message)
    {
        var reader = new WireReader(message);
        var end = message.Length;
        for (var tag = reader.ReadTag(end); tag != 0 && RaggedRow < 0; tag = reader.ReadTag(end))
        {
            if (tag == BundledRowsFormat.MessageTag)
            {
                ReadRow(ref reader, reader.ReadLengthEnd(end), end);
            }
            else
            {
                reader.Skip(tag, end);
            }
        }

        if (HeldBytes > MaxHeldBytes)
        {
            throw OverBudget();
        }
    }

    /// <summary>Drops the rows, keeping the columns' arrays for the next message.</summary>
    public void Clear()
    {
        RowCount = 0;
        _textBytes = 0;
    }

    /// <summary>Gets the numbers of a column; valid up to <see cref="RowCount"/>.</summary>
    public double[] Numbers(int column) => _numbers[column];

    /// <summary>
    /// Gets the texts of a column, or <see langword="null"/> while no row of the block's messages had text there.
    /// </summary>
    public string?[]? Texts(int column) => _strings[column];

    /// <summary>Gets the texts of a column, empty where Qlik sent none (it leaves empty text out).</summary>
    public string?[] TextsOrEmpty(int column)
    {
        if (_strings[column] is not { } strings)
        {
            strings = _strings[column] = new string[_capacity];
            Array.Fill(strings, string.Empty, 0, RowCount);
        }

        return strings;
    }

    /// <summary>The rows as a table of untyped, unnamed dual columns over this block's arrays.</summary>
    public SseTable ToTable()
    {
        var columns = new SseColumn[_columnCount];
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = new SseColumn(string.Empty, SseDataType.Dual, _numbers[c], _strings[c], RowCount);
        }

        return new SseTable(columns, RowCount);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadRow(ref WireReader reader, int end, int messageLength)
    {
        if (_width < 0)
        {
            // The columns are sized for as many rows as the message holds if they are all as long as the first.
            var rowBytes = BundledRowsFormat.FieldSize(end - reader.Position);
            _capacity = Math.Clamp(messageLength / rowBytes, 1, MaxPresizedRows);
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
                    _textBytes += StringOverheadBytes + 2L * text.Length;
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
        if (RowCount == _capacity)
        {
            Grow();
        }
    }

    // Doubles the columns, unless that passes the memory allowed: then grows them as far as it allows, if at all.
    private void Grow()
    {
        var rows = Math.Min(_capacity * 2L, (MaxHeldBytes - _textBytes) / Math.Max(RowBytes, 1));
        Resize(rows > RowCount ? (int)Math.Min(rows, Array.MaxLength) : throw OverBudget());
    }

    private void Resize(int capacity)
    {
        _capacity = capacity;
        for (var c = 0; c < _columnCount; c++)
        {
            _numbers[c] = Grow(_numbers[c], capacity);
            if (_strings[c] is not null)
            {
                Array.Resize(ref _strings[c], capacity);
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

        _numbers[column][RowCount] = number;
        var strings = _strings[column];
        if (strings is null && !string.IsNullOrEmpty(text))
        {
            // Texts are stored once a column has one; the earlier rows of the block had none.
            strings = TextsOrEmpty(column);
        }

        if (strings is not null)
        {
            strings[RowCount] = text ?? string.Empty;
        }
    }

    private void AddColumn()
    {
        if (_columnCount == MaxRowValues)
        {
            throw new MalformedRequestException(
                $"A row holds more than {MaxRowValues} values; Qlik sends one value per parameter.");
        }

        if (_columnCount == _numbers.Length)
        {
            // Doubling keeps a wide row linear in its width.
            var length = Math.Min(Math.Max(4, _columnCount * 2), MaxRowValues);
            Array.Resize(ref _numbers, length);
            Array.Resize(ref _strings, length);
        }

        _numbers[_columnCount++] = GC.AllocateUninitializedArray<double>(_capacity);
    }

    // Numbers are only read up to RowCount, so their arrays skip the zeroing a whole column of them would cost.
    private static double[] Grow(double[] numbers, int capacity)
    {
        var grown = GC.AllocateUninitializedArray<double>(capacity);
        numbers.AsSpan().CopyTo(grown);
        return grown;
    }

    private InsufficientMemoryException OverBudget() =>
        new($"The rows take more than the {MaxHeldBytes} bytes a call may hold ({RowCount} rows read).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndRow()
    {
        if (_width < 0)
        {
            // Known only now: a hostile first row of thousands of values must not presize thousands of whole columns.
            _width = _column;
            var presize = expectedRows > _capacity && _width == expectedWidth
                && (long)expectedRows * Math.Max(_width, 1) <= MaxPresizedValues;
            if (presize && expectedRows * RowBytes + _textBytes <= MaxHeldBytes)
            {
                Resize(expectedRows);
            }
        }
        else if (_column != _width)
        {
            // The row is left out: the call fails on it, and no row after it is read.
            RaggedRow = RowCount;
            RaggedRowWidth = _column;
            return;
        }

        RowCount++;
    }
}
