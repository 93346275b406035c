using SsePlugin.Server.Invocation;
using static SsePlugin.Server.Tests.Invocation.Calls;

namespace SsePlugin.Server.Tests.Invocation;

/// <summary>The call's three read modes and its checks of rows against the parameters, fed from memory.</summary>
public sealed class FunctionCallTests
{
    public static class Functions
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double[] Pair(double[] number, string[] text) => number;
    }

    private static readonly Qlik.Sse.Row[] Three = [Row(1, "a"), Row(2, "b"), Row(3, "c")];

    [Fact]
    public async Task Blocks_are_read_one_message_at_a_time_in_arrays_the_caller_keeps()
    {
        var (call, _) = Start(
            Function(typeof(Functions), 1), new MemoryRequests(Bundle(Three[..2]), Bundle(), Bundle(Three[2])));

        var first = await call.ReadBlockAsync();
        var second = await call.ReadBlockAsync();

        Assert.Equal([1d, 2], Column(first!.Rows, 0));
        Assert.Equal(["a", "b"], Enumerable.Range(0, 2).Select(first.Rows.Columns[1].TextAt));
        Assert.Equal([3d], Column(second!.Rows, 0));
        Assert.Null(await call.ReadBlockAsync());
        Assert.Equal(3, call.RowsRead);
    }

    [Fact]
    public async Task Transient_blocks_are_refilled_by_the_next_read()
    {
        var (call, _) = Start(Function(typeof(Functions), 1), new MemoryRequests(Bundle(Three[0]), Bundle(Three[1])));

        var first = await call.ReadTransientBlockAsync();
        var numbers = first!.Columns[0];
        var second = await call.ReadTransientBlockAsync();

        Assert.Equal(2, second!.Columns[0].NumberAt(0));
        Assert.Equal(2, numbers.NumberAt(0));
        Assert.Null(await call.ReadTransientBlockAsync());
    }

    [Fact]
    public async Task Reading_all_rows_continues_the_block_read_last_with_exact_columns()
    {
        var (call, _) = Start(
            Function(typeof(Functions), 1), new MemoryRequests(Bundle(Three[0]), Bundle(Three[1]), Bundle(Three[2])));

        var first = await call.ReadBlockAsync();
        var all = await call.ReadAllAsync(first);

        Assert.Equal(3, all.RowCount);
        Assert.Equal([1d, 2, 3], Column(all, 0));
        Assert.Equal(["number", "text"], all.Columns.Select(c => c.Name));
        Assert.Equal([SseDataType.Numeric, SseDataType.String], all.Columns.Select(c => c.DataType));
        Assert.Equal(3, call.RowsRead);
    }

    [Fact]
    public async Task Reading_all_of_no_rows_gives_an_empty_column_per_parameter()
    {
        var (call, _) = Start(Function(typeof(Functions), 1), new MemoryRequests(Bundle()));

        var all = await call.ReadAllAsync();

        Assert.Equal(0, all.RowCount);
        Assert.Equal([0, 0], all.Columns.Select(c => c.Count));
    }

    [Fact]
    public async Task Rows_read_whole_over_the_memory_limit_end_the_call_naming_the_setting()
    {
        var rows = Enumerable.Range(0, 20_000).Select(i => Row(i, new string('x', 100))).ToArray();
        var (call, _) = Start(Function(typeof(Functions), 1), new MemoryRequests(Bundle(rows)), maxMemoryMegabytes: 1);

        var error = await Assert.ThrowsAsync<CallFailure>(() => call.ReadAllAsync().AsTask());

        Assert.Equal(CallFailureKind.LimitExceeded, error.Kind);
        Assert.StartsWith(
            "Pair: the call's rows take more than the 1 MB of memory SsePlugin:MaxCallMemoryMegabytes allows a call",
            error.Message,
            StringComparison.Ordinal);
        call.End(exhausted: false);
    }

    [Fact]
    public async Task A_row_of_the_wrong_width_fails_the_call_naming_the_row_and_the_signature()
    {
        var (call, _) = Start(
            Function(typeof(Functions), 1),
            new MemoryRequests(Bundle(Three[0]), Bundle(Three[1], Numbers(5), Three[2])));

        await call.ReadBlockAsync();
        var error = await Assert.ThrowsAsync<CallFailure>(() => call.ReadBlockAsync().AsTask());

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.Equal(
            "Pair: row 3 holds 1 values but the function takes 2 (Pair(number, text)). "
            + "Call it with exactly 2 parameter(s).",
            error.Message);
    }

    [Fact]
    public async Task A_first_row_of_the_wrong_width_fails_the_call_at_row_one()
    {
        var (call, _) = Start(Function(typeof(Functions), 1), new MemoryRequests(Bundle(Numbers(1, 2, 3))));

        var error = await Assert.ThrowsAsync<CallFailure>(() => call.ReadAllAsync().AsTask());

        Assert.StartsWith(
            "Pair: row 1 holds 3 values but the function takes 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_for_a_numeric_parameter_fails_the_call_quoting_the_text_shortened()
    {
        var text = new string('y', 50);
        var (call, _) = Start(
            Function(typeof(Functions), 1), new MemoryRequests(Bundle(Three[0], Three[1]), Bundle(Texts(text, "z"))));

        await call.ReadTransientBlockAsync();
        var error = await Assert.ThrowsAsync<CallFailure>(() => call.ReadTransientBlockAsync().AsTask());

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.Equal(
            $"Pair: parameter 'number' is numeric but row 3 holds the text '{text[..40]}…'. "
            + "Pass a number, e.g. Num(...) in Qlik.",
            error.Message);
    }

    private static Qlik.Sse.Row Row(double number, string text) => new()
    {
        Duals = { new Qlik.Sse.Dual { NumData = number }, new Qlik.Sse.Dual { StrData = text } },
    };

    private static IEnumerable<double> Column(SseTable table, int column) =>
        Enumerable.Range(0, table.RowCount).Select(table.Columns[column].NumberAt);
}
