using System.Buffers;
using System.Runtime.CompilerServices;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// One <c>BundledRows</c> response message written straight from columns: a run of rows of a table, cut so that
/// the message stays under a byte limit. One instance is reused for every message of a call.
/// </summary>
internal sealed class ResponseChunk
{
    // The columns' arrays, taken once per chunk so that the row loops index arrays instead of calling through lists.
    private double[]?[] _numbers = [];
    private string?[]?[] _texts = [];
    private int _columnCount;
    private int[] _rowSizes = [];
    private int _start;

    /// <summary>Gets the number of rows in the chunk.</summary>
    public int RowCount { get; private set; }

    /// <summary>Gets the size of the serialized message.</summary>
    public int Size { get; private set; }

    /// <summary>
    /// Takes rows from <paramref name="start"/> on, as many as fit in <paramref name="maxBytes"/> (at least one).
    /// </summary>
    /// <returns>The number of rows taken.</returns>
    /// <remarks>Compiled fully optimized at once, like <see cref="RequestBlock.Append(ReadOnlySpan{byte})"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Fill(IReadOnlyList<SseColumn> columns, int start, int end, int maxBytes)
    {
        TakeArrays(columns);
        _start = start;
        var size = 0;
        var row = start;
        while (row < end)
        {
            var rowSize = RowSize(row);
            var entry = BundledRowsFormat.FieldSize(rowSize);
            if (size + entry > maxBytes && row > start)
            {
                break;
            }

            if (row - start == _rowSizes.Length)
            {
                Array.Resize(ref _rowSizes, Math.Max(64, _rowSizes.Length * 2));
            }

            _rowSizes[row - start] = rowSize;
            size += entry;
            row++;
        }

        Size = size;
        RowCount = row - start;
        return RowCount;
    }

    /// <summary>Writes the chunk as a serialized <c>BundledRows</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteTo(IBufferWriter<byte> output)
    {
        var writer = new WireWriter(output);
        var end = _start + RowCount;
        for (var row = _start; row < end; row++)
        {
            var rowSize = _rowSizes[row - _start];
            writer.Reserve(BundledRowsFormat.FieldSize(rowSize));
            writer.WriteByte(BundledRowsFormat.MessageTag);
            writer.WriteVarint((uint)rowSize);
            for (var c = 0; c < _columnCount; c++)
            {
                var number = NumberAt(c, row);
                var text = TextAt(c, row);
                var textBytes = BundledRowsFormat.TextBytes(text);
                writer.WriteByte(BundledRowsFormat.MessageTag);
                writer.WriteVarint((uint)BundledRowsFormat.DualSize(number, textBytes));
                if (BitConverter.DoubleToInt64Bits(number) != 0)
                {
                    writer.WriteByte(BundledRowsFormat.NumberTag);
                    writer.WriteDouble(number);
                }

                if (textBytes > 0)
                {
                    writer.WriteByte(BundledRowsFormat.TextTag);
                    writer.WriteVarint((uint)textBytes);
                    writer.WriteUtf8(text!, textBytes);
                }
            }
        }

        writer.Flush();
    }

    private void TakeArrays(IReadOnlyList<SseColumn> columns)
    {
        _columnCount = columns.Count;
        if (_numbers.Length < _columnCount)
        {
            _numbers = new double[]?[_columnCount];
            _texts = new string?[]?[_columnCount];
        }

        for (var c = 0; c < _columnCount; c++)
        {
            _numbers[c] = columns[c].NumberArray;
            _texts[c] = columns[c].StringArray;
        }
    }

    // Text columns carry no number and numeric columns no text, as Qlik's own plugins answer.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double NumberAt(int column, int row) => _numbers[column] is { } numbers ? numbers[row] : 0d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private string? TextAt(int column, int row) => _texts[column]?[row];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RowSize(int row)
    {
        var size = 0;
        for (var c = 0; c < _columnCount; c++)
        {
            var textBytes = BundledRowsFormat.TextBytes(TextAt(c, row));
            size += BundledRowsFormat.FieldSize(BundledRowsFormat.DualSize(NumberAt(c, row), textBytes));
        }

        return size;
    }
}
