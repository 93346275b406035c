using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>What a call answered: its rows, its headers and trailers, and how many messages carried the rows.</summary>
internal sealed record SseAnswer(IReadOnlyList<Row> Rows, Metadata Headers, Metadata Trailers, int Messages)
{
    public double[] Numbers(int column = 0) => Rows.Select(r => r.Duals[column].NumData).ToArray();

    public string[] Strings(int column = 0) => Rows.Select(r => r.Duals[column].StrData).ToArray();

    public TableDescription? Table => Headers.Get("qlik-tabledescription-bin") is { } entry
        ? TableDescription.Parser.ParseFrom(entry.ValueBytes)
        : null;

    public bool NoStore =>
        Headers.Get("qlik-cache")?.Value == "no-store" || Trailers.Get("qlik-cache")?.Value == "no-store";
}

/// <summary>
/// Calls functions the way Qlik's engine does: binary headers, rows in bundles, answers read as they come.
/// </summary>
internal static class SseCalls
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public static Metadata Headers(
        int functionId, string appId = "app", string userId = "user", long cardinality = 0) => new()
    {
        { "qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = functionId }.ToByteArray() },
        {
            "qlik-commonrequestheader-bin",
            new CommonRequestHeader { AppId = appId, UserId = userId, Cardinality = cardinality }.ToByteArray()
        },
    };

    public static Row Numeric(params double[] values)
    {
        var row = new Row();
        row.Duals.AddRange(values.Select(v => new Dual { NumData = v }));
        return row;
    }

    public static Row Text(params string[] values)
    {
        var row = new Row();
        row.Duals.AddRange(values.Select(v => new Dual { StrData = v }));
        return row;
    }

    public static Row TextAndNumber(string text, double number)
    {
        var row = new Row();
        row.Duals.Add(new Dual { StrData = text });
        row.Duals.Add(new Dual { NumData = number });
        return row;
    }

    public static BundledRows Bundle(IEnumerable<Row> rows)
    {
        var bundle = new BundledRows();
        bundle.Rows.AddRange(rows);
        return bundle;
    }

    public static Task<SseAnswer> ExecuteAsync(
        this Connector.ConnectorClient client, int functionId, params BundledRows[] bundles) =>
        client.ExecuteAsync(Headers(functionId, cardinality: bundles.Sum(b => b.Rows.Count)), bundles);

    public static Task<SseAnswer> ExecuteAsync(
        this Connector.ConnectorClient client, Metadata headers, IEnumerable<BundledRows> bundles) =>
        CallAsync(token => client.ExecuteFunction(headers, cancellationToken: token), bundles);

    /// <summary>Calls one of Qlik's script functions, e.g. ScriptEval('args[0] + args[1]', A, B).</summary>
    public static Task<SseAnswer> EvaluateAsync(
        this Connector.ConnectorClient client,
        string script,
        FunctionType functionType,
        DataType returnType,
        (string Name, DataType Type)[] parameters,
        params BundledRows[] bundles)
    {
        var headers = ScriptHeaders(script, functionType, returnType, parameters);
        return CallAsync(token => client.EvaluateScript(headers, cancellationToken: token), bundles);
    }

    /// <summary>The headers of a script call, as Qlik's engine sends them.</summary>
    public static Metadata ScriptHeaders(
        string script, FunctionType functionType, DataType returnType, params (string Name, DataType Type)[] parameters)
    {
        var header = new ScriptRequestHeader { Script = script, FunctionType = functionType, ReturnType = returnType };
        header.Params.AddRange(parameters.Select(p => new Parameter { Name = p.Name, DataType = p.Type }));
        return new Metadata
        {
            { "qlik-scriptrequestheader-bin", header.ToByteArray() },
            {
                "qlik-commonrequestheader-bin",
                new CommonRequestHeader { AppId = "app", UserId = "user" }.ToByteArray()
            },
        };
    }

    /// <summary>Sends the request messages while reading the answer, as Qlik's engine does.</summary>
    public static async Task<SseAnswer> CallAsync<TRequest>(
        Func<CancellationToken, AsyncDuplexStreamingCall<TRequest, BundledRows>> start,
        IEnumerable<TRequest> messages)
    {
        using var cts = new CancellationTokenSource(CallTimeout);
        using var call = start(cts.Token);
        var reading = ReadAllAsync(call, cts.Token);
        try
        {
            foreach (var message in messages)
            {
                // With the call's token, so that a write the host never takes fails the test instead of hanging it.
                var write = call.RequestStream.WriteAsync(message, cts.Token);
                if (await Task.WhenAny(write, reading) == reading && !write.IsCompleted)
                {
                    // The host ended the call while this write waits for room it will never give: its status is in
                    // the answer. The write is left behind (the .NET client may not wake it when the stream resets).
                    _ = write.ContinueWith(static w => w.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    return await reading;
                }

                await write;
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The host ended the call while rows were still going out: its status is in the answer, where Qlik reads
            // it.
            await reading;
            throw;
        }

        return await reading;
    }

    public static async Task<SseAnswer> ReadAllAsync<TRequest>(
        AsyncDuplexStreamingCall<TRequest, BundledRows> call, CancellationToken cancellationToken)
    {
        var rows = new List<Row>();
        var messages = 0;
        await foreach (var bundle in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            rows.AddRange(bundle.Rows);
            messages++;
        }

        return new SseAnswer(rows, await call.ResponseHeadersAsync, call.GetTrailers(), messages);
    }

    public static async Task<RpcException> FailsAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        return error;
    }

    /// <summary>Asserts that the host still answers a normal call correctly.</summary>
    public static async Task AssertServesAsync(this Connector.ConnectorClient client)
    {
        var answer = await client.ExecuteAsync(5, Bundle([Numeric(20, 22)]));
        Assert.Equal([42], answer.Numbers());
    }
}
