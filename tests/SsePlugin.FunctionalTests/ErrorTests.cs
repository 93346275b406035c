using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// Bad input and failing functions end the call with a status Qlik can show; the host goes on serving.
/// </summary>
[Collection(SharedHost.Name)]
public sealed class ErrorTests(HostFixture host)
{
    [Fact]
    public async Task An_unknown_function_id_is_not_found_and_names_the_id()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(999, Bundle([Numeric(1)])));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("Function id 999", error.Status.Detail);
        Assert.Contains("5 SumOfRows", error.Status.Detail);
        await HostStillServesAsync();
    }

    [Fact]
    public async Task A_call_without_the_function_header_is_rejected()
    {
        var headers = new Metadata { { "qlik-commonrequestheader-bin", new CommonRequestHeader().ToByteArray() } };

        var error = await FailsAsync(() => host.Client.ExecuteAsync(headers, [Bundle([Numeric(1)])]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("qlik-functionrequestheader-bin", error.Status.Detail);
        await HostStillServesAsync();
    }

    [Fact]
    public async Task An_unparsable_header_is_rejected()
    {
        var headers = new Metadata { { "qlik-functionrequestheader-bin", new byte[] { 0xFF, 0xFF, 0xFF } } };

        var error = await FailsAsync(() => host.Client.ExecuteAsync(headers, [Bundle([Numeric(1)])]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("could not be read", error.Status.Detail);
    }

    [Fact]
    public async Task A_row_with_the_wrong_number_of_values_names_the_function_and_row()
    {
        var error = await FailsAsync(
            () => host.Client.ExecuteAsync(5, Bundle([Numeric(1, 2)]), Bundle([Numeric(1, 2), Numeric(3)])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("SumOfRows: row 3 holds 1 values but the function takes 2", error.Status.Detail);
        await HostStillServesAsync();
    }

    [Fact]
    public async Task Messages_without_rows_are_skipped_by_every_kind_of_function_even_first()
    {
        (string, SseDataType)[] oneNumber = [("value", SseDataType.Numeric)];

        var perRow = await host.Client.ExecuteAsync(5, Bundle([]), Bundle([Numeric(1, 2)]), Bundle([]));
        var aggregation = await host.Client.ExecuteAsync(6, Bundle([]), Bundle([Numeric(1), Numeric(2)]), Bundle([]));
        var streaming = await host.Client.ExecuteAsync(103, Bundle([]), Bundle([Numeric(1), Numeric(2)]));
        var script = await host.Client.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, oneNumber, Bundle([]), Bundle([Numeric(4)]));
        var scriptAggregation = await host.Client.EvaluateAsync(
            "q.value.length", SseFunctionType.Aggregation, SseDataType.Numeric, oneNumber, Bundle([]),
            Bundle([Numeric(4)]));

        Assert.Equal([3], perRow.Numbers());
        Assert.Equal([3], aggregation.Numbers());
        Assert.Equal([1, 3], streaming.Numbers());
        Assert.Equal([8], script.Numbers());
        Assert.Equal([1], scriptAggregation.Numbers());
    }

    [Fact]
    public async Task A_first_row_of_the_wrong_width_is_named_before_a_ragged_row_after_it()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(5, Bundle([Numeric(1, 2, 3), Numeric(4, 5)])));

        Assert.Contains("SumOfRows: row 1 holds 3 values but the function takes 2", error.Status.Detail);
    }

    [Fact]
    public async Task An_aggregation_counts_rows_over_every_message_in_its_errors()
    {
        var ragged = await FailsAsync(
            () => host.Client.ExecuteAsync(6, Bundle([Numeric(1)]), Bundle([Numeric(2), Numeric(3, 4)])));
        var text = await FailsAsync(
            () => host.Client.ExecuteAsync(6, Bundle([Numeric(1)]), Bundle([Numeric(2)]), Bundle([Text("abc")])));

        Assert.Contains("SumOfColumn: row 3 holds 2 values but the function takes 1", ragged.Status.Detail);
        Assert.Contains("SumOfColumn: parameter 'col1' is numeric but row 3 holds the text 'abc'", text.Status.Detail);
        await HostStillServesAsync();
    }

    [Fact]
    public async Task Too_many_parameters_are_rejected()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(6, Bundle([Numeric(1, 2, 3)])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("SumOfColumn: row 1 holds 3 values but the function takes 1", error.Status.Detail);
    }

    [Fact]
    public async Task Text_where_a_number_is_declared_is_rejected()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(5, Bundle([Numeric(1, 2), Text("abc", "1")])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("SumOfRows: parameter 'col1' is numeric but row 2 holds the text 'abc'", error.Status.Detail);
        await HostStillServesAsync();
    }

    [Theory]
    [InlineData(-1, "RejectNegative failed: InvalidOperationException: negative values are not allowed")]
    [InlineData(1e10, "RejectNegative failed: InvalidDataException: the model file is corrupt")]
    public async Task An_exception_in_a_function_names_the_function_and_the_problem(double value, string message)
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(101, Bundle([Numeric(1), Numeric(value)])));

        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
        await HostStillServesAsync();
    }

    [Fact]
    public async Task A_column_answer_of_the_wrong_length_is_an_error()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(106, Bundle([Numeric(1), Numeric(2)])));

        Assert.Contains("DropFirst answered 1 values for 2 rows", error.Status.Detail);
    }

    [Fact]
    public async Task A_streamed_answer_of_the_wrong_length_is_an_error()
    {
        var error = await FailsAsync(() => host.Client.ExecuteAsync(110, Bundle([Numeric(1), Numeric(2), Numeric(3)])));

        Assert.Contains("SkipsRows answered 2 rows for 3 input rows", error.Status.Detail);
    }

    [Fact]
    public async Task A_cancelled_call_stops_the_functions_work()
    {
        // The function tells this test's probe, and no other test's, that it runs and that its token fired.
        var probe = TestFunctions.Watch();
        using var cts = new CancellationTokenSource();
        using var call = host.Client.Connector.ExecuteFunction(Headers(108, probe.AppId), cancellationToken: cts.Token);
        await call.RequestStream.WriteAsync(Bundle([Numeric(1)]).Message);
        await call.RequestStream.CompleteAsync();
        var answer = call.ResponseStream.MoveNext(CancellationToken.None);

        await probe.Started.Task.WaitAsync(CallTimeout);
        await cts.CancelAsync();

        Assert.True(await probe.Ended.Task.WaitAsync(CallTimeout), "The function ended without its token fired.");
        var error = await FailsAsync(() => answer);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await HostStillServesAsync();
    }

    private Task HostStillServesAsync() => host.Client.AssertServesAsync();
}
