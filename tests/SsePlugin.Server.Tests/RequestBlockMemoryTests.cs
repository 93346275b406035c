using Google.Protobuf;
using Qlik.Sse;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Tests;

/// <summary>The memory a block of rows holds, counted as it decodes, and the most it may hold.</summary>
public sealed class RequestBlockMemoryTests
{
    [Fact]
    public void A_block_counts_its_columns_and_texts()
    {
        var block = new RequestBlock();

        block.Append(Rows(10, _ => Row(new Dual { NumData = 1 }, new Dual { StrData = "abcd" })));

        // Ten rows of a number (8 bytes) and a text (8 for its reference, 24 for the string, 2 a character).
        Assert.Equal((10 * (8 + 8 + 8)) + (10 * (24 + 8)), block.HeldBytes);
    }

    [Fact]
    public void Columns_grow_only_as_far_as_the_memory_allowed_and_no_row_passes_it()
    {
        var block = new RequestBlock { MaxHeldBytes = 100 * sizeof(double) };

        block.Append(Rows(60, i => Row(new Dual { NumData = i + 1 })));
        block.Append(Rows(40, i => Row(new Dual { NumData = 61 + i })));
        var full = Assert.Throws<InsufficientMemoryException>(
            () => block.Append(Rows(1, _ => Row(new Dual { NumData = 101 }))));

        // Doubling the 60 rows to 120 would have passed the 800 bytes: the column grew to 100 rows instead.
        Assert.Equal(100, block.RowCount);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (double)i), block.Numbers(0)[..100]);
        Assert.Equal(800, block.HeldBytes);
        Assert.Contains("800 bytes", full.Message);
    }

    [Fact]
    public void Texts_past_the_memory_allowed_fail_the_message_that_holds_them()
    {
        var block = new RequestBlock { MaxHeldBytes = 1024 * 1024 };

        block.Append(Rows(1, _ => Row(new Dual { StrData = new string('x', 500_000) })));

        Assert.Throws<InsufficientMemoryException>(
            () => block.Append(Rows(1, _ => Row(new Dual { StrData = new string('y', 500_000) }))));
    }

    private static byte[] Rows(int count, Func<int, Row> row)
    {
        var bundle = new BundledRows();
        for (var i = 0; i < count; i++)
        {
            bundle.Rows.Add(row(i));
        }

        return bundle.ToByteArray();
    }

    private static Row Row(params Dual[] duals)
    {
        var row = new Row();
        row.Duals.AddRange(duals);
        return row;
    }
}
