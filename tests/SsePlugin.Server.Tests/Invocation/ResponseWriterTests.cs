using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using static SsePlugin.Server.Tests.Invocation.Calls;

namespace SsePlugin.Server.Tests.Invocation;

/// <summary>The answer: headers first, rows bundled under the byte limit, Qlik's limits, the cache header and trailer.
/// </summary>
public sealed class ResponseWriterTests
{
    public static class Functions
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double[] Numbers(double[] values) => values;

        [SseFunction(2, SseFunctionType.Tensor)]
        [NoCache]
        public static double[] Uncached(double[] values) => values;
    }

    [Fact]
    public async Task Rows_are_bundled_into_messages_under_the_byte_limit_keeping_their_order()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1), bundleBytes: 1000);
        var values = Enumerable.Range(0, 1000).Select(i => (double)i).ToArray();

        await response.WriteAsync([new SseColumn("", values)], 1000);

        Assert.True(answers.Messages.Count > 10, $"{answers.Messages.Count} messages");
        Assert.All(answers.Sizes, size => Assert.InRange(size, 1, 1000));
        Assert.Equal(values, answers.Rows.Select(r => r.Duals[0].NumData));
        Assert.Equal(1000, response.RowsWritten);
        Assert.Equal(["rows"], answers.Events.Distinct());
    }

    [Fact]
    public async Task Only_the_rows_asked_for_are_written()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));

        await response.WriteAsync([new SseColumn("", [1d, 2, 3])], 2);

        Assert.Equal([1d, 2], answers.Rows.Select(r => r.Duals[0].NumData));
    }

    [Fact]
    public async Task A_row_over_Qliks_4_MiB_message_limit_is_refused_as_it_cannot_be_split()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));
        var column = new SseColumn("", ["short", new string('x', QlikProtocol.MaxMessageBytes)]);

        var error = await Assert.ThrowsAsync<CallFailure>(() => response.WriteAsync([column], 2).AsTask());

        Assert.Equal(CallFailureKind.LimitExceeded, error.Kind);
        Assert.Matches(
            @"^Numbers: row 2 of the answer takes \d+ bytes, more than the 4 MiB \(4194304 bytes\) Qlik's engine "
            + @"accepts in one message, and a row cannot be split\. Return shorter texts\.$",
            error.Message);
        Assert.Equal(1, response.RowsWritten);
        Assert.Equal("short", Assert.Single(answers.Rows).Duals[0].StrData);
    }

    [Fact]
    public async Task A_row_just_under_Qliks_limit_is_sent()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));
        var column = new SseColumn("", [new string('x', QlikProtocol.MaxMessageBytes - 100)]);

        await response.WriteAsync([column], 1);

        Assert.Single(answers.Rows);
    }

    [Fact]
    public async Task A_table_description_over_4096_bytes_is_refused_before_any_row()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));
        var columns = Enumerable.Range(0, 50).Select(i => new SseColumn($"field {i} {new string('n', 80)}", [1d]));
        var table = new SseTable([.. columns]);

        var error = await Assert.ThrowsAsync<CallFailure>(
            () => response.WriteAsync(table.Columns, 1, table).AsTask());

        Assert.Equal(CallFailureKind.LimitExceeded, error.Kind);
        Assert.Matches(
            @"^Numbers: the answer's table description \(50 fields\) takes \d+ bytes, more than the 4096 Qlik's "
            + "engine accepts in a response header. Return fewer fields or shorter field names.$",
            error.Message);
        Assert.Empty(answers.Events);
    }

    [Fact]
    public async Task A_table_description_is_sent_in_the_headers_before_the_rows()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));
        var table = new SseTable(new SseColumn("a", [1d, 2]), new SseColumn("b", ["x", "y"])) { Name = "T" };

        await response.WriteAsync(table.Columns, table.RowCount, table);
        await response.CompleteAsync();

        Assert.Equal(["headers", "rows"], answers.Events);
        Assert.Equal("T", answers.Description!.Name);
        Assert.Equal(["a", "b"], answers.Description.Fields.Select(f => f.Name));
        Assert.False(answers.NoStoreHeader);
    }

    [Fact]
    public async Task A_function_that_is_never_cached_says_so_in_the_headers_of_every_answer()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 2));

        await response.WriteAsync([new SseColumn("", [1d])], 1);
        await response.CompleteAsync();

        Assert.Equal(["headers", "rows"], answers.Events);
        Assert.True(answers.NoStoreHeader);
        Assert.False(answers.NoStoreTrailer);
    }

    [Fact]
    public async Task Caching_turned_off_before_the_first_row_goes_in_the_headers()
    {
        var context = new SseCallContext("app", "user", 0, CancellationToken.None);
        var (response, answers) = Writer(Function(typeof(Functions), 1), context: context);

        context.DisableCache();
        await response.WriteAsync([new SseColumn("", [1d])], 1);
        await response.CompleteAsync();

        Assert.True(answers.NoStoreHeader);
        Assert.Equal(["headers", "rows"], answers.Events);
    }

    [Fact]
    public async Task Caching_turned_off_after_the_first_row_goes_in_the_trailer()
    {
        var context = new SseCallContext("app", "user", 0, CancellationToken.None);
        var (response, answers) = Writer(Function(typeof(Functions), 1), context: context);

        await response.WriteAsync([new SseColumn("", [1d])], 1);
        context.DisableCache();
        await response.CompleteAsync();

        Assert.Equal(["rows", "trailer"], answers.Events);
        Assert.True(answers.NoStoreTrailer);
    }

    [Fact]
    public async Task An_answer_without_rows_or_cache_control_sends_no_headers()
    {
        var (response, answers) = Writer(Function(typeof(Functions), 1));

        await response.CompleteAsync();

        Assert.Empty(answers.Events);
    }

    [Fact]
    public async Task A_description_after_the_first_row_is_a_bug_of_the_host()
    {
        var (response, _) = Writer(Function(typeof(Functions), 1));
        var table = new SseTable(new SseColumn("a", [1d]));

        await response.WriteAsync(table.Columns, 1);

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => response.WriteAsync(table.Columns, 1, table).AsTask());
    }

    private static (ResponseWriter Response, MemoryAnswers Answers) Writer(
        FunctionDefinition function, int bundleBytes = 64 * 1024, SseCallContext? context = null)
    {
        var answers = new MemoryAnswers();
        context ??= new SseCallContext("app", "user", 0, CancellationToken.None);
        return (new ResponseWriter(answers, context, function, bundleBytes), answers);
    }
}
