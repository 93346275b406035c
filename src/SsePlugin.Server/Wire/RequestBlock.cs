using Google.Protobuf;
using Google.Protobuf.Reflection;
using Qlik.Sse;

namespace SsePlugin.Server.Wire;

/// <summary>
/// One <c>BundledRows</c> request message, decoded straight into columns: no <c>Row</c> or <c>Dual</c> objects are
/// built. The protobuf library still does the wire work; this type only decides where the values go.
/// </summary>
/// <remarks>
/// The message is decoded before the call knows its function, so every value keeps its number, and its text
/// where Qlik sent one. A row whose width differs from the first row's is remembered, not thrown, so that the
/// call can name the function in its error.
/// </remarks>
internal sealed class RequestBlock : IMessage, IBufferMessage
{
    private readonly RowReader _rowReader;
    private readonly DualReader _dualReader = new();
    private double[][] _numbers = [];
    private string?[]?[] _strings = [];
    private int _capacity;
    private int _width = -1;
    private int _rowCount;
    private int _column;

    /// <summary>Creates an empty block sized for about <paramref name="expectedRows"/> rows.</summary>
    public RequestBlock(int expectedRows)
    {
        _capacity = Math.Max(expectedRows, 4);
        _rowReader = new RowReader(this);
    }

    /// <summary>Gets the decoded rows; columns have no names and the dual data type.</summary>
    public SseTable Table { get; private set; } = EmptyTable;

    /// <summary>Gets the index in this block of the first row whose width differs from the first row's, or -1.</summary>
    public int RaggedRow { get; private set; } = -1;

    /// <summary>Gets the number of values the ragged row held.</summary>
    public int RaggedRowWidth { get; private set; }

    private static SseTable EmptyTable { get; } = new([], 0);

    /// <inheritdoc/>
    public MessageDescriptor Descriptor => BundledRows.Descriptor;

    /// <summary>Decodes one serialized <c>BundledRows</c>.</summary>
    public static RequestBlock Decode(System.Buffers.ReadOnlySequence<byte> payload)
    {
        // A numeric row of two columns takes 24 bytes; the arrays grow when rows are smaller.
        var block = new RequestBlock((int)Math.Min(payload.Length / 24, 64 * 1024));
        block.MergeFrom(payload);
        block.Table = block.BuildTable();
        return block;
    }

    void IBufferMessage.InternalMergeFrom(ref ParseContext ctx)
    {
        uint tag;
        while ((tag = ctx.ReadTag()) != 0)
        {
            if (tag == RowsTag)
            {
                BeginRow();
                ctx.ReadMessage(_rowReader);
                EndRow();
            }
            else
            {
                UnknownFieldSet.MergeFieldFrom(null, ref ctx);
            }
        }
    }

    void IMessage.MergeFrom(CodedInputStream input) => input.ReadRawMessage(this);

    void IMessage.WriteTo(CodedOutputStream output) => throw new NotSupportedException("A request block is only read.");

    int IMessage.CalculateSize() => throw new NotSupportedException("A request block is only read.");

    void IBufferMessage.InternalWriteTo(ref WriteContext ctx) => throw new NotSupportedException("A request block is only read.");

    private const uint RowsTag = (1 << 3) | 2; // field 1, length-delimited
    private const uint NumDataTag = (1 << 3) | 1; // field 1, 64-bit
    private const uint StrDataTag = (2 << 3) | 2; // field 2, length-delimited

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

    /// <summary>Reads one <c>Row</c>: its duals, in parameter order.</summary>
    private sealed class RowReader(RequestBlock block) : IMessage, IBufferMessage
    {
        public MessageDescriptor Descriptor => Row.Descriptor;

        void IBufferMessage.InternalMergeFrom(ref ParseContext ctx)
        {
            var dual = block._dualReader;
            uint tag;
            while ((tag = ctx.ReadTag()) != 0)
            {
                if (tag == RowsTag)
                {
                    dual.Number = 0;
                    dual.Text = null;
                    ctx.ReadMessage(dual);
                    block.AddValue(dual.Number, dual.Text);
                }
                else
                {
                    UnknownFieldSet.MergeFieldFrom(null, ref ctx);
                }
            }
        }

        void IMessage.MergeFrom(CodedInputStream input) => input.ReadRawMessage(this);

        void IMessage.WriteTo(CodedOutputStream output) => throw new NotSupportedException();

        int IMessage.CalculateSize() => throw new NotSupportedException();

        void IBufferMessage.InternalWriteTo(ref WriteContext ctx) => throw new NotSupportedException();
    }

    /// <summary>Reads one <c>Dual</c>.</summary>
    private sealed class DualReader : IMessage, IBufferMessage
    {
        public double Number;
        public string? Text;

        public MessageDescriptor Descriptor => Dual.Descriptor;

        void IBufferMessage.InternalMergeFrom(ref ParseContext ctx)
        {
            uint tag;
            while ((tag = ctx.ReadTag()) != 0)
            {
                switch (tag)
                {
                    case NumDataTag:
                        Number = ctx.ReadDouble();
                        break;
                    case StrDataTag:
                        Text = ctx.ReadString();
                        break;
                    default:
                        UnknownFieldSet.MergeFieldFrom(null, ref ctx);
                        break;
                }
            }
        }

        void IMessage.MergeFrom(CodedInputStream input) => input.ReadRawMessage(this);

        void IMessage.WriteTo(CodedOutputStream output) => throw new NotSupportedException();

        int IMessage.CalculateSize() => throw new NotSupportedException();

        void IBufferMessage.InternalWriteTo(ref WriteContext ctx) => throw new NotSupportedException();
    }
}
