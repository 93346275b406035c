using System.Buffers;
using System.Globalization;
using Google.Protobuf;
using Qlik.Sse;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Tests;

/// <summary>The column codec reads and writes exactly what Google's generated BundledRows reads and writes.</summary>
public sealed class WireTests
{
    [Fact]
    public void A_request_decodes_into_columns_keeping_numbers_texts_and_nulls()
    {
        var bundle = new BundledRows();
        for (var i = 0; i < 1000; i++)
        {
            var row = new Row();
            row.Duals.Add(new Dual { NumData = i % 7 == 0 ? double.NaN : i * 0.5 });
            row.Duals.Add(new Dual { StrData = i % 3 == 0 ? "" : $"t{i}é" });
            row.Duals.Add(new Dual { NumData = -i, StrData = i.ToString(CultureInfo.InvariantCulture) });
            bundle.Rows.Add(row);
        }

        var block = Decode(bundle);

        Assert.Equal(-1, block.RaggedRow);
        var table = block.ToTable();
        Assert.Equal(1000, table.RowCount);
        Assert.Equal(3, table.Columns.Count);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(bundle.Rows[i].Duals[0].NumData, table.Columns[0].NumberAt(i));
            Assert.Equal(bundle.Rows[i].Duals[1].StrData, table.Columns[1].TextAt(i));
            Assert.Equal(0, table.Columns[1].NumberAt(i));
            Assert.Equal(
                (-i, i.ToString(CultureInfo.InvariantCulture)),
                (table.Columns[2].NumberAt(i), table.Columns[2].TextAt(i)));
        }

        Assert.Equal("", table.Columns[0].TextAt(0));
    }

    [Fact]
    public void A_ragged_row_is_remembered_and_ends_the_block()
    {
        var bundle = new BundledRows();
        bundle.Rows.Add(Row(1, 2));
        bundle.Rows.Add(Row(3, 4));
        bundle.Rows.Add(Row(5));
        bundle.Rows.Add(Row(6, 7, 8));

        var block = Decode(bundle);

        Assert.Equal((2, 1), (block.RaggedRow, block.RaggedRowWidth));
        Assert.Equal(2, block.RowCount);
        Assert.Equal([2, 4], Enumerable.Range(0, 2).Select(block.ToTable().Columns[1].NumberAt));
    }

    [Fact]
    public void Messages_append_into_one_block_and_a_cleared_block_keeps_nothing_of_the_last_message()
    {
        var texts = new BundledRows { Rows = { TextRow("a", 1), TextRow("b", 2) } }.ToByteArray();
        var numbers = new BundledRows { Rows = { Row(3, 4), Row(5, 6), Row(7, 8) } }.ToByteArray();
        var block = new RequestBlock(expectedRows: 1);

        block.Append(numbers);
        block.Append(texts);

        Assert.Equal(5, block.RowCount);
        Assert.Equal([3, 5, 7, 0, 0], block.Numbers(0)[..5]);
        Assert.Equal("|||a|b", string.Join('|', block.Texts(0)![..5]));
        Assert.Equal([4, 6, 8, 1, 2], block.Numbers(1)[..5]);

        block.Clear();
        block.Append(numbers);

        Assert.Equal(3, block.RowCount);
        Assert.Equal("||", string.Join('|', block.Texts(0)![..3]));
        Assert.Equal([3, 5, 7], block.Numbers(0)[..3]);
    }

    [Fact]
    public void Columns_are_presized_for_the_expected_rows_once_the_first_row_has_the_expected_width_within_a_budget()
    {
        var narrow = new RequestBlock(expectedRows: 1_000_000, expectedWidth: 2);
        narrow.Append(new BundledRows { Rows = { Row(1, 2) } }.ToByteArray());
        var unexpected = new RequestBlock(expectedRows: 1_000_000, expectedWidth: 1);
        unexpected.Append(new BundledRows { Rows = { Row(1, 2) } }.ToByteArray());

        var wide = new RequestBlock(expectedRows: 1_000_000, expectedWidth: RequestBlock.MaxRowValues);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        wide.Append(new BundledRows { Rows = { Row(new double[RequestBlock.MaxRowValues]) } }.ToByteArray());

        Assert.Equal(1_000_000, narrow.Numbers(1).Length);
        Assert.Single(unexpected.Numbers(1));
        // 10,000 columns of 1M rows would take 80 GB; each is sized for the message instead.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 4 * 1024 * 1024);
        Assert.Single(wide.Numbers(RequestBlock.MaxRowValues - 1));
    }

    [Fact]
    public void A_row_of_another_width_in_a_later_message_is_ragged()
    {
        var block = Decode(new BundledRows { Rows = { Row(1, 2) } });

        block.Append(new BundledRows { Rows = { Row(3, 4), Row(5) } }.ToByteArray());

        Assert.Equal((2, 1, 2), (block.RowCount, block.RaggedRowWidth, block.RaggedRow));
    }

    [Fact]
    public void A_wide_row_is_sized_for_the_rows_its_message_can_hold()
    {
        var wide = Row([.. Enumerable.Range(0, RequestBlock.MaxRowValues).Select(i => (double)i)]);
        var bytes = new BundledRows { Rows = { wide, wide } }.ToByteArray();

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var table = Decode(bytes).ToTable();

        // Two rows of 10,000 numbers: 160 KB of values, a few bytes per column besides.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 2 * 1024 * 1024);
        Assert.Equal((2, RequestBlock.MaxRowValues), (table.RowCount, table.Columns.Count));
        Assert.Equal(9999, table.Columns[9999].NumberAt(1));
    }

    [Fact]
    public void Short_rows_after_a_wide_one_cost_nothing()
    {
        var bundle = new BundledRows { Rows = { Row(new double[RequestBlock.MaxRowValues]) } };
        bundle.Rows.AddRange(Enumerable.Range(0, 100_000).Select(_ => new Row()));
        var bytes = bundle.ToByteArray();

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var block = Decode(bytes);

        // The first row's columns, sized for the message's 11 rows as wide as it; padding every short row would take 8
        // GB.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 4 * 1024 * 1024);
        Assert.Equal((1, 0), (block.RaggedRow, block.RaggedRowWidth));
    }

    [Fact]
    public void A_row_of_more_values_than_the_limit_is_refused()
    {
        var bundle = new BundledRows { Rows = { Row(new double[RequestBlock.MaxRowValues + 1]) } };

        var error = Assert.Throws<MalformedRequestException>(() => Decode(bundle));

        Assert.Equal(
            $"A row holds more than {RequestBlock.MaxRowValues} values; Qlik sends one value per parameter.",
            error.Message);
    }

    [Fact]
    public void Unknown_fields_are_skipped()
    {
        var bytes = Row(1.5).ToByteArray();
        using var stream = new MemoryStream();
        using (var coded = new CodedOutputStream(stream))
        {
            coded.WriteTag(1, WireFormat.WireType.LengthDelimited);
            coded.WriteBytes(ByteString.CopyFrom(bytes));
            coded.WriteTag(9, WireFormat.WireType.Varint);
            coded.WriteInt32(42);
        }

        var block = Decode(stream.ToArray());

        Assert.Equal(1.5, block.ToTable().Columns[0].NumberAt(0));
        Assert.Equal(1, block.RowCount);
    }

    [Fact]
    public void An_answer_encodes_as_generated_BundledRows_and_is_cut_under_the_byte_limit()
    {
        var numbers = Enumerable.Range(0, 5000).Select(i => i % 5 == 0 ? double.NaN : i - 2500.25).ToArray();
        var texts = Enumerable.Range(0, 5000).Select(i => i % 4 == 0 ? "" : $"v{i}ü").ToArray();
        SseColumn[] columns = [new("n", numbers), new("s", texts), new("d", numbers, texts)];
        var chunk = new ResponseChunk();
        var rows = new List<Row>();
        for (var start = 0; start < 5000;)
        {
            var taken = chunk.Fill(columns, start, 5000, 16 * 1024);
            var bytes = Serialize(chunk);
            Assert.InRange(bytes.Length, 1, 16 * 1024);
            Assert.Equal(chunk.Size, bytes.Length);
            rows.AddRange(BundledRows.Parser.ParseFrom(bytes).Rows);
            start += taken;
        }

        Assert.Equal(5000, rows.Count);
        for (var i = 0; i < 5000; i++)
        {
            var duals = rows[i].Duals;
            Assert.Equal(
                (numbers[i], "", 0d, texts[i], numbers[i], texts[i]),
                (duals[0].NumData, duals[0].StrData, duals[1].NumData, duals[1].StrData, duals[2].NumData,
                    duals[2].StrData));
        }
    }

    [Fact]
    public void A_row_larger_than_the_limit_still_goes_out_alone()
    {
        SseColumn[] columns = [new("s", [new string('x', 100), "y"])];
        var chunk = new ResponseChunk();

        Assert.Equal(1, chunk.Fill(columns, 0, 2, 10));
        var row = BundledRows.Parser.ParseFrom(Serialize(chunk)).Rows.Single();
        Assert.Equal(new string('x', 100), row.Duals[0].StrData);
    }

    [Fact]
    public void A_message_split_over_several_buffers_decodes_the_same()
    {
        var bytes = new BundledRows { Rows = { Row(1, 2), Row(3, 4), Row(5, 6) } }.ToByteArray();
        var first = new Segment(bytes.AsMemory(0, 7));
        var last = first.Append(bytes.AsMemory(7));

        var table = Decode(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length)).ToTable();

        Assert.Equal([1, 3, 5], Enumerable.Range(0, 3).Select(table.Columns[0].NumberAt));
        Assert.Equal([2, 4, 6], Enumerable.Range(0, 3).Select(table.Columns[1].NumberAt));
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A })]
    [InlineData(new byte[] { 0x0A, 0x02, 0x0A, 0x09 })]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x09 })]
    [InlineData(new byte[] { 0x0A, 0x0A, 0x0A, 0x09, 0x09, 1, 2, 3, 4, 5, 6, 7 })] // a number cut off by its row's end
    [InlineData(new byte[] { 0x0A, 0x01, 0x0A, 0x0A, 0x12, 0x05 })] // a dual's length read past its row's end
    [InlineData(new byte[] { 0x0B })]
    [InlineData(new byte[] { 0x0A, 0x00, 0x00, 0x0A, 0x00 })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })]
    public void Malformed_bytes_are_reported_not_misread(byte[] bytes)
    {
        var error = Assert.Throws<MalformedRequestException>(() => Decode(bytes));

        Assert.StartsWith("The message is not a valid BundledRows", error.Message);
    }

    private static byte[] Serialize(ResponseChunk chunk)
    {
        var writer = new ArrayBufferWriter<byte>();
        chunk.WriteTo(writer);
        return writer.WrittenSpan.ToArray();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    private static Row TextRow(string text, double number) =>
        new() { Duals = { new Dual { StrData = text }, new Dual { NumData = number } } };

    private static Row Row(params double[] values)
    {
        var row = new Row();
        row.Duals.AddRange(values.Select(v => new Dual { NumData = v }));
        return row;
    }

    private static RequestBlock Decode(BundledRows bundle) => Decode(bundle.ToByteArray());

    private static RequestBlock Decode(byte[] bytes) => Decode(new ReadOnlySequence<byte>(bytes));

    // As a call decodes a message: copied out of the transport's buffers, then appended to a block.
    private static RequestBlock Decode(ReadOnlySequence<byte> payload)
    {
        var message = RequestMessage.Copy(payload);
        var block = new RequestBlock();
        block.Append(message.Bytes);
        message.Release();
        return block;
    }
}
