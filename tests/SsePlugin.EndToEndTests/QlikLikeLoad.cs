using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Qlik.Sse;

namespace SsePlugin.EndToEndTests;

/// <summary>What one call did: when it ran (on the load's clock), its status, what was wrong if anything.</summary>
/// <param name="Id">The call's number, in its <c>x-call-id</c> header.</param>
/// <param name="Function">The function called.</param>
/// <param name="Started">When the call started.</param>
/// <param name="Ended">When it ended.</param>
/// <param name="Status">Its status.</param>
/// <param name="Failure">Null for a call answered right; otherwise the status's message or the wrong answer.</param>
public sealed record CallOutcome(int Id, string Function, TimeSpan Started, TimeSpan Ended, StatusCode Status,
    string? Failure);

/// <summary>
/// Calls as Qlik's engine does, through one address: several HTTP/2 connections (one per engine), several calls at
/// once on each, with Qlik's binary headers. The calls take turns: a tensor function (SumOfRows), an aggregation
/// (SumOfColumn) and a JavaScript script (ScriptEval), each with rows of its own, and every answer is checked. Each
/// call carries its number in an <c>x-call-id</c> header, so that nginx's access log names it.
/// </summary>
public sealed class QlikLikeLoad : IDisposable
{
    private const int RowsPerCall = 10;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel[] _channels;
    private readonly int _callersPerConnection;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastId;
    private int _completed;

    /// <summary>Opens the connections (lazily, at their first call).</summary>
    /// <param name="address">The load balancer, e.g. <c>http://127.0.0.1:8080</c>.</param>
    /// <param name="connections">How many HTTP/2 connections, as many Qlik engines.</param>
    /// <param name="callersPerConnection">How many calls run at once on each.</param>
    /// <param name="handler">Makes each connection's handler (TLS settings), or null for plaintext.</param>
    public QlikLikeLoad(
        string address, int connections, int callersPerConnection, Func<HttpMessageHandler>? handler = null)
    {
        _callersPerConnection = callersPerConnection;
        _channels =
        [
            .. Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(
                address, new GrpcChannelOptions { HttpHandler = handler?.Invoke(), DisposeHttpClient = true })),
        ];
    }

    /// <summary>Gets the time since the load was made, the clock of <see cref="CallOutcome"/>.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Gets how many calls have ended so far, right or not.</summary>
    public int Completed => Volatile.Read(ref _completed);

    /// <summary>Makes this many calls, spread over the connections and callers.</summary>
    public async Task<IReadOnlyList<CallOutcome>> RunAsync(int calls)
    {
        var target = Completed + calls;
        using var stop = new CancellationTokenSource();
        var running = RunUntilAsync(stop.Token);
        await WaitForCompletedAsync(target);
        await stop.CancelAsync();
        return await running;
    }

    /// <summary>Makes calls until told to stop; the calls running then end as they would.</summary>
    public async Task<IReadOnlyList<CallOutcome>> RunUntilAsync(CancellationToken stop)
    {
        var callers = _channels.SelectMany(channel => Enumerable.Range(0, _callersPerConnection)
            .Select(_ => CallUntilAsync(new Connector.ConnectorClient(channel), stop)));
        var outcomes = await Task.WhenAll(callers);
        return [.. outcomes.SelectMany(o => o).OrderBy(o => o.Id)];
    }

    /// <summary>Waits until at least this many calls have ended since the load was made.</summary>
    public async Task WaitForCompletedAsync(int count)
    {
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (Completed < count)
        {
            Assert.True(DateTime.UtcNow < stopAt, $"Only {Completed} of {count} calls ended within 90 s.");
            await Task.Delay(10);
        }
    }

    /// <summary>Makes one ScriptEval call with this script, which must compute <c>args[0] * args[1]</c>.</summary>
    public Task<CallOutcome> CallScriptAsync(string script) =>
        CallAsync(new Connector.ConnectorClient(_channels[0]), Interlocked.Increment(ref _lastId), script);

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    private async Task<List<CallOutcome>> CallUntilAsync(Connector.ConnectorClient client, CancellationToken stop)
    {
        var outcomes = new List<CallOutcome>();
        while (!stop.IsCancellationRequested)
        {
            outcomes.Add(await CallAsync(client, Interlocked.Increment(ref _lastId)));
            Interlocked.Increment(ref _completed);
        }

        return outcomes;
    }

    // Calls the three functions in turn by id, or ScriptEval with the given script.
    private async Task<CallOutcome> CallAsync(Connector.ConnectorClient client, int id, string? script = null)
    {
        var (function, headers, rows, expected) = (script is null ? id % 3 : 2) switch
        {
            // SumOfRows(id + r, r) per row: id + 2r.
            0 => ("SumOfRows", FunctionHeaders(id, 5),
                Rows(r => [id + r, r]), Enumerable.Range(0, RowsPerCall).Select(r => id + 2d * r)),

            // SumOfColumn over id + r: one row.
            1 => ("SumOfColumn", FunctionHeaders(id, 6),
                Rows(r => [id + r]), [RowsPerCall * (double)id + (RowsPerCall * (RowsPerCall - 1) / 2)]),

            // ScriptEval('args[0] * args[1]', r, id) per row.
            _ => ("ScriptEval", ScriptHeaders(id, script ?? "args[0] * args[1]"),
                Rows(r => [r, id]), Enumerable.Range(0, RowsPerCall).Select(r => (double)r * id)),
        };

        var started = Now;
        try
        {
            using var timeout = new CancellationTokenSource(CallTimeout);
            using var call = function == "ScriptEval"
                ? client.EvaluateScript(headers, cancellationToken: timeout.Token)
                : client.ExecuteFunction(headers, cancellationToken: timeout.Token);
            await call.RequestStream.WriteAsync(rows, timeout.Token);
            await call.RequestStream.CompleteAsync();
            var answer = new List<double>();
            await foreach (var bundle in call.ResponseStream.ReadAllAsync(timeout.Token))
            {
                answer.AddRange(bundle.Rows.Select(row => row.Duals[0].NumData));
            }

            var wrong = answer.SequenceEqual(expected)
                ? null
                : $"{function} answered [{string.Join(", ", answer)}], not [{string.Join(", ", expected)}]";
            return new CallOutcome(id, function, started, Now, StatusCode.OK, wrong);
        }
        catch (RpcException e)
        {
            return new CallOutcome(id, function, started, Now, e.StatusCode, e.Status.Detail);
        }
        catch (HttpRequestException e)
        {
            // Grpc.Net.Client lets a failed write of a request message through as it is (the connection closed).
            return new CallOutcome(id, function, started, Now, StatusCode.Unknown, e.Message);
        }
    }

    private static BundledRows Rows(Func<int, double[]> row)
    {
        var bundle = new BundledRows();
        for (var r = 0; r < RowsPerCall; r++)
        {
            var values = new Row();
            values.Duals.AddRange(row(r).Select(value => new Dual { NumData = value }));
            bundle.Rows.Add(values);
        }

        return bundle;
    }

    private static Metadata FunctionHeaders(int id, int functionId) => new()
    {
        { "qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = functionId }.ToByteArray() },
        CommonHeader(),
        { "x-call-id", id.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    private static Metadata ScriptHeaders(int id, string script)
    {
        var header = new ScriptRequestHeader
        {
            Script = script, FunctionType = FunctionType.Tensor, ReturnType = DataType.Numeric,
        };
        header.Params.Add(new Parameter { Name = "a", DataType = DataType.Numeric });
        header.Params.Add(new Parameter { Name = "b", DataType = DataType.Numeric });
        return new Metadata
        {
            { "qlik-scriptrequestheader-bin", header.ToByteArray() },
            CommonHeader(),
            { "x-call-id", id.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
    }

    private static Metadata.Entry CommonHeader() => new(
        "qlik-commonrequestheader-bin",
        new CommonRequestHeader { AppId = "scale-out", UserId = "UserDirectory=TEST; UserId=load" }.ToByteArray());
}
