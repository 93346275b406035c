using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>Each supported function shape, through real calls.</summary>
[Collection(SharedHost.Name)]
public sealed class FunctionShapeTests(HostFixture host)
{
    [Fact]
    public async Task A_dual_function_reads_and_answers_number_and_text()
    {
        SseValue[] row = [new SseDual(45000, "2023-03-15")];
        var answer = await host.Client.ExecuteAsync(100, Bundle([row, Numeric(double.NaN)]));

        Assert.Equal([90000, double.NaN], answer.Numbers());
        Assert.Equal(["<2023-03-15>", "<>"], answer.Strings());
    }

    [Fact]
    public async Task An_async_aggregation_receives_whole_columns()
    {
        var answer = await host.Client.ExecuteAsync(102, Bundle([Numeric(1), Numeric(2)]), Bundle([Numeric(6)]));

        Assert.Equal([3], answer.Numbers());
    }

    [Fact]
    public async Task A_streaming_function_answers_each_bundle_before_the_next_arrives()
    {
        using var cts = new CancellationTokenSource(CallTimeout);
        using var call = host.Client.Connector.ExecuteFunction(Headers(103), cancellationToken: cts.Token);

        await call.RequestStream.WriteAsync(Bundle([Numeric(1), Numeric(2)]).Message);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal([1, 3], call.ResponseStream.Current.Rows.Select(r => r.Duals[0].NumData));

        await call.RequestStream.WriteAsync(Bundle([Numeric(10)]).Message);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal([13], call.ResponseStream.Current.Rows.Select(r => r.Duals[0].NumData));

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_slow_streaming_function_sends_its_answers_as_they_come_though_rows_are_waiting()
    {
        // Every row is sent at once, so rows are always waiting; each answer takes 300 ms, longer than answers wait for
        // a bundle.
        var answer = await host.Client.ExecuteAsync(
            113, Bundle([Numeric(1)]), Bundle([Numeric(2)]), Bundle([Numeric(3)]), Bundle([Numeric(4)]));

        Assert.Equal([1, 2, 3, 4], answer.Numbers());
        Assert.Equal(4, answer.Messages);
    }

    [Fact]
    public async Task A_per_row_function_answers_each_bundle_before_the_next_arrives()
    {
        using var cts = new CancellationTokenSource(CallTimeout);
        using var call = host.Client.Connector.ExecuteFunction(Headers(5), cancellationToken: cts.Token);

        await call.RequestStream.WriteAsync(Bundle([Numeric(1, 1)]).Message);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(2, call.ResponseStream.Current.Rows.Single().Duals[0].NumData);

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(cts.Token));
    }

    [Fact]
    public async Task A_streaming_aggregation_reads_every_row()
    {
        var answer = await host.Client.ExecuteAsync(104, Bundle([Text("ab"), Text("abcd")]), Bundle([Text("abc")]));

        Assert.Equal(["abcd"], answer.Strings());
    }

    [Fact]
    public async Task The_call_context_carries_the_common_header_and_switches_the_cache_off()
    {
        var answer = await host.Client.ExecuteAsync(
            Headers(105, "sales.qvf", "UserDirectory=QLIK; UserId=anna", 2), [Bundle([Text("x"), Text("y")])]);

        Assert.Equal(
            ["sales.qvf|UserDirectory=QLIK; UserId=anna|2|x", "sales.qvf|UserDirectory=QLIK; UserId=anna|2|y"],
            answer.Strings());
        Assert.True(answer.NoStore);
    }

    [Fact]
    public async Task A_column_function_answers_one_value_per_row()
    {
        var answer = await host.Client.ExecuteAsync(107, Bundle([Numeric(1), Numeric(3)]));

        Assert.Equal([0.25, 0.75], answer.Numbers());
    }

    [Fact]
    public async Task An_instance_function_is_served_from_its_class_created_with_the_hosts_services()
    {
        var answer = await host.Client.ExecuteAsync(109, Bundle([Numeric(1), Numeric(2)]));

        Assert.Equal([2, 3], answer.Numbers());
    }

    [Fact]
    public async Task A_table_function_sends_names_types_tags_and_the_table_name()
    {
        SseValue[] row1 = ["a", 1.5];
        var answer = await host.Client.ExecuteAsync(111, Bundle([row1]));

        var table = answer.Table!;
        Assert.Equal("Pivoted", table.Name);
        Assert.Equal(
            [("Name", SseDataType.String), ("Value", SseDataType.Numeric), ("Label", SseDataType.Dual)],
            table.Fields.Select(f => (f.Name, f.DataType)));
        Assert.Equal(["$numeric"], table.Fields[2].Tags);
        var duals = answer.Rows.Single();
        Assert.Equal(("a", 1.5, 1.5, "a"), (duals[0].Text, duals[1].Number, duals[2].Number, duals[2].Text));
    }
}
