using Google.Protobuf;
using Google.Protobuf.Reflection;
using Qlik.Sse;

namespace SsePlugin.Server.Wire;

/// <summary>
/// One <c>BundledRows</c> response message written straight from columns: a run of rows of a table, cut so that
/// the message stays under a byte limit. One instance is reused for every message of a call.
/// </summary>
internal sealed class ResponseChunk : IMessage, IBufferMessage
{
    private IReadOnlyList<SseColumn> _columns = [];
    private int _start;
    private int _size;

    /// <summary>Gets the number of rows in the chunk.</summary>
    public int RowCount { get; private set; }

    /// <inheritdoc/>
    public MessageDescriptor Descriptor => BundledRows.Descriptor;

    /// <summary>Takes rows from <paramref name="start"/> on, as many as fit in <paramref name="maxBytes"/> (at least one).</summary>
    /// <returns>The number of rows taken.</returns>
    public int Fill(IReadOnlyList<SseColumn> columns, int start, int end, int maxBytes)
    {
        _columns = columns;
        _start = start;
        var size = 0;
        var row = start;
        while (row < end)
        {
            var rowSize = RowSize(columns, row);
            var entry = 1 + CodedOutputStream.ComputeLengthSize(rowSize) + rowSize;
            if (size + entry > maxBytes && row > start)
            {
                break;
            }

            size += entry;
            row++;
        }

        _size = size;
        RowCount = row - start;
        return RowCount;
    }

    /// <inheritdoc/>
    public int CalculateSize() => _size;

    void IBufferMessage.InternalWriteTo(ref WriteContext ctx)
    {
        var columns = _columns;
        var end = _start + RowCount;
        for (var row = _start; row < end; row++)
        {
            ctx.WriteRawTag(RowsTag);
            ctx.WriteLength(RowSize(columns, row));
            for (var c = 0; c < columns.Count; c++)
            {
                var column = columns[c];
                var number = NumberAt(column, row);
                var text = TextAt(column, row);
                ctx.WriteRawTag(DualsTag);
                ctx.WriteLength(DualSize(number, text));
                if (BitConverter.DoubleToInt64Bits(number) != 0)
                {
                    ctx.WriteRawTag(NumDataTag);
                    ctx.WriteDouble(number);
                }

                if (!string.IsNullOrEmpty(text))
                {
                    ctx.WriteRawTag(StrDataTag);
                    ctx.WriteString(text);
                }
            }
        }
    }

    void IMessage.WriteTo(CodedOutputStream output) => output.WriteRawMessage(this);

    void IMessage.MergeFrom(CodedInputStream input) => throw new NotSupportedException("A response chunk is only written.");

    void IBufferMessage.InternalMergeFrom(ref ParseContext ctx) => throw new NotSupportedException("A response chunk is only written.");

    private const byte RowsTag = (1 << 3) | 2;
    private const byte DualsTag = (1 << 3) | 2;
    private const byte NumDataTag = (1 << 3) | 1;
    private const byte StrDataTag = (2 << 3) | 2;

    // Text columns carry no number and numeric columns no text, as Qlik's own plugins answer.
    private static double NumberAt(SseColumn column, int row) => column.NumberArray is { } numbers ? numbers[row] : 0d;

    private static string? TextAt(SseColumn column, int row) => column.StringArray?[row];

    private static int RowSize(IReadOnlyList<SseColumn> columns, int row)
    {
        var size = 0;
        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            var dual = DualSize(NumberAt(column, row), TextAt(column, row));
            size += 1 + CodedOutputStream.ComputeLengthSize(dual) + dual;
        }

        return size;
    }

    // Proto3 leaves out default values: a zero number (but not -0 or NaN) and an empty text.
    private static int DualSize(double number, string? text) =>
        (BitConverter.DoubleToInt64Bits(number) != 0 ? 9 : 0)
        + (string.IsNullOrEmpty(text) ? 0 : 1 + CodedOutputStream.ComputeStringSize(text));
}
