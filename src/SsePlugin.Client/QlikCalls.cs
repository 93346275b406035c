using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>
/// The wire side of a call as Qlik's engine makes it: binary headers, the request messages sent while the answer is
/// read.
/// </summary>
internal static class QlikCalls
{
    /// <summary>The headers of an <c>ExecuteFunction</c> call.</summary>
    public static Metadata Headers(
        int functionId, string appId = "app", string userId = "user", long cardinality = 0) => new()
    {
        { "qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = functionId }.ToByteArray() },
        { "qlik-commonrequestheader-bin", Common(appId, userId, cardinality) },
    };

    /// <summary>The headers of an <c>EvaluateScript</c> call.</summary>
    public static Metadata ScriptHeaders(SseScript script, string appId = "app", string userId = "user")
    {
        var header = new ScriptRequestHeader
        {
            Script = script.Script,
            FunctionType = (FunctionType)script.FunctionType,
            ReturnType = (DataType)script.ReturnType,
        };
        header.Params.AddRange(script.Parameters.Select(p => new Parameter
        {
            Name = p.Name,
            DataType = (DataType)p.DataType,
        }));
        return new Metadata
        {
            { "qlik-scriptrequestheader-bin", header.ToByteArray() },
            { "qlik-commonrequestheader-bin", Common(appId, userId, cardinality: 0) },
        };
    }

    /// <summary>
    /// Sends the request messages while reading the answer, as Qlik's engine does; a failed call answers its status.
    /// </summary>
    public static async Task<SseAnswer> CallAsync<TRequest>(
        Func<CancellationToken, AsyncDuplexStreamingCall<TRequest, BundledRows>> start,
        IEnumerable<TRequest> messages,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var call = start(cts.Token);
        var reading = ReadAllAsync(call, cts.Token);
        try
        {
            foreach (var message in messages)
            {
                // With the call's token, so that a write the plugin never takes ends with the call instead of hanging.
                var write = call.RequestStream.WriteAsync(message, cts.Token);
                if (await Task.WhenAny(write, reading).ConfigureAwait(false) == reading && !write.IsCompleted)
                {
                    // The plugin ended the call while this write waits for room it will never give: its status is in
                    // the answer. The write is left behind (the .NET client may not wake it when the stream resets).
                    _ = write.ContinueWith(static w => w.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    return await reading.ConfigureAwait(false);
                }

                await write.ConfigureAwait(false);
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
        {
            // The plugin ended the call while rows were still going out: its status is in the answer, where Qlik reads
            // it.
        }

        return await reading.ConfigureAwait(false);
    }

    /// <summary>Reads the rest of a call's answer: its rows, headers, trailers and status.</summary>
    public static async Task<SseAnswer> ReadAllAsync<TRequest>(
        AsyncDuplexStreamingCall<TRequest, BundledRows> call, CancellationToken cancellationToken)
    {
        var rows = new List<Row>();
        var messages = 0;
        var status = Status.DefaultSuccess;
        try
        {
            await foreach (var bundle in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.AddRange(bundle.Rows);
                messages++;
            }
        }
        catch (RpcException e)
        {
            status = e.Status;
        }

        return new SseAnswer(rows, messages, await HeadersAsync(call).ConfigureAwait(false), TrailersOf(call), status);
    }

    private static async Task<Metadata> HeadersAsync<TRequest>(AsyncDuplexStreamingCall<TRequest, BundledRows> call)
    {
        try
        {
            return await call.ResponseHeadersAsync.ConfigureAwait(false);
        }
        catch (RpcException)
        {
            return [];
        }
    }

    private static Metadata TrailersOf<TRequest>(AsyncDuplexStreamingCall<TRequest, BundledRows> call)
    {
        try
        {
            return call.GetTrailers();
        }
        catch (InvalidOperationException)
        {
            return [];
        }
    }

    private static byte[] Common(string appId, string userId, long cardinality) =>
        new CommonRequestHeader { AppId = appId, UserId = userId, Cardinality = cardinality }.ToByteArray();
}
