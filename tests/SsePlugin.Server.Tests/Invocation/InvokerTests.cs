using System.Runtime.CompilerServices;
using SsePlugin.Server.Invocation;
using static SsePlugin.Server.Tests.Invocation.Calls;

namespace SsePlugin.Server.Tests.Invocation;

/// <summary>The three invokers, through functions compiled by the real discovery, fed and read in memory.</summary>
public sealed class InvokerTests
{
    public static class Functions
    {
        [SseFunction(1, SseFunctionType.Scalar)]
        public static double Twice(double value) => 2 * value;

        [SseFunction(2, SseFunctionType.Aggregation)]
        public static double Sum(double[] values) => values.Sum();

        [SseFunction(3, SseFunctionType.Tensor)]
        public static SseTable Table(double[] values) =>
            new(new SseColumn("value", values), new SseColumn("label", [.. values.Select(v => $"#{v}")]))
            {
                Name = "Answers",
            };

        [SseFunction(4, SseFunctionType.Tensor)]
        public static double[] TooFew(double[] values) => values[1..];

        [SseFunction(5, SseFunctionType.Tensor)]
        [SseParameter("text", SseDataType.String)]
        public static async IAsyncEnumerable<string> Upper(
            IAsyncEnumerable<SseRow> rows, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                yield return row.Text(0).ToUpperInvariant();
            }
        }

        [SseFunction(6, SseFunctionType.Tensor)]
        [SseParameter("text", SseDataType.String)]
        public static async IAsyncEnumerable<string> FirstOnly(
            IAsyncEnumerable<SseRow> rows, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                yield return row.Text(0);
                yield break;
            }
        }
    }

    [Fact]
    public async Task A_per_row_function_answers_every_row_of_every_message_in_order()
    {
        var answers = await RunAsync(
            Function(typeof(Functions), 1), Bundle(Numbers(1), Numbers(2)), Bundle(), Bundle(Numbers(3)));

        Assert.Equal([2d, 4, 6], answers.Rows.Select(r => r.Duals[0].NumData));
        Assert.Equal(["rows"], answers.Events);
    }

    [Fact]
    public async Task A_per_row_function_sends_its_answers_before_the_call_waits_for_rows()
    {
        var function = Function(typeof(Functions), 1);
        var requests = new MemoryRequests(Bundle(Numbers(1), Numbers(2)), Bundle(Numbers(3))) { HeldBack = 1 };
        var (call, answers) = Start(function, requests);

        var running = function.Invoker.InvokeAsync(call);
        Assert.False(running.IsCompleted);
        Assert.Equal([2d, 4], answers.Rows.Select(r => r.Duals[0].NumData));

        requests.Release();
        await running;
        Assert.Equal([2d, 4, 6], answers.Rows.Select(r => r.Duals[0].NumData));
        Assert.Equal(2, answers.Messages.Count);
    }

    [Fact]
    public async Task An_aggregation_answers_once_for_the_rows_of_every_message()
    {
        var answers = await RunAsync(
            Function(typeof(Functions), 2), Bundle(Numbers(1), Numbers(2)), Bundle(Numbers(4)));

        Assert.Equal(7, Assert.Single(answers.Rows).Duals[0].NumData);
        Assert.Null(answers.Description);
    }

    [Fact]
    public async Task A_table_is_sent_after_its_description()
    {
        var answers = await RunAsync(Function(typeof(Functions), 3), Bundle(Numbers(1)), Bundle(Numbers(2)));

        Assert.Equal(["headers", "rows"], answers.Events);
        Assert.Equal("Answers", answers.Description!.Name);
        Assert.Equal(2, answers.Description.NumberOfRows);
        Assert.Equal(["value", "label"], answers.Description.Fields.Select(f => f.Name));
        Assert.Equal(["#1", "#2"], answers.Rows.Select(r => r.Duals[1].StrData));
    }

    [Fact]
    public async Task A_column_with_a_value_too_few_fails_as_a_wrong_answer()
    {
        var error = await Assert.ThrowsAsync<CallFailure>(
            () => RunAsync(Function(typeof(Functions), 4), Bundle(Numbers(1), Numbers(2), Numbers(3))));

        Assert.Equal(CallFailureKind.WrongAnswer, error.Kind);
        Assert.Equal(
            "TooFew answered 2 values for 3 rows; "
            + "a function returning a column answers exactly one value per input row.",
            error.Message);
    }

    [Fact]
    public async Task A_streaming_function_answers_each_row_as_it_reads_it()
    {
        var function = Function(typeof(Functions), 5);
        var requests = new MemoryRequests(Bundle(Texts("a"), Texts("b")), Bundle(Texts("c"))) { HeldBack = 1 };
        var (call, answers) = Start(function, requests);

        var running = function.Invoker.InvokeAsync(call);
        Assert.Equal(["A", "B"], answers.Rows.Select(r => r.Duals[0].StrData));

        requests.Release();
        await running;
        Assert.Equal(["A", "B", "C"], answers.Rows.Select(r => r.Duals[0].StrData));
    }

    [Fact]
    public async Task A_streaming_function_that_answers_fewer_rows_fails_as_a_wrong_answer()
    {
        var error = await Assert.ThrowsAsync<CallFailure>(
            () => RunAsync(Function(typeof(Functions), 6), Bundle(Texts("a"), Texts("b"))));

        Assert.Equal(CallFailureKind.WrongAnswer, error.Kind);
        Assert.Equal(
            "FirstOnly answered 1 rows for 2 input rows; a tensor function answers exactly one row per input row.",
            error.Message);
    }
}
