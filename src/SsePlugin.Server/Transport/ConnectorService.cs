using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Observability;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Security;

using Capabilities = Qlik.Sse.Capabilities;
using Empty = Qlik.Sse.Empty;

namespace SsePlugin.Server.Transport;

/// <summary>
/// The <c>qlik.sse.Connector</c> service. Rows travel through marshallers that read into and write from columns,
/// so the service is bound by hand instead of through generated stubs. grpc-dotnet finds the handlers by name and
/// requires them to be virtual methods of the bound type, hence the unsealed class.
/// </summary>
[BindServiceMethod(typeof(ConnectorService), nameof(BindService))]
internal partial class ConnectorService
{
    private const string ServiceName = "qlik.sse.Connector";

    private static readonly Method<Empty, Capabilities> GetCapabilitiesMethod = new(
        MethodType.Unary,
        ServiceName,
        nameof(GetCapabilities),
        Marshallers.Create(static m => m.ToByteArray(), ReadCapabilitiesRequest),
        Marshallers.Create(static m => m.ToByteArray(), Capabilities.Parser.ParseFrom));

    private static readonly Method<RequestMessage, ResponseChunk> ExecuteFunctionMethod = new(
        MethodType.DuplexStreaming,
        ServiceName,
        nameof(ExecuteFunction),
        SseMarshallers.Requests,
        SseMarshallers.Responses);

    private static readonly Method<RequestMessage, ResponseChunk> EvaluateScriptMethod = new(
        MethodType.DuplexStreaming,
        ServiceName,
        nameof(EvaluateScript),
        SseMarshallers.Requests,
        SseMarshallers.Responses);

    private readonly ConnectionRegistry _connections;
    private readonly Dictionary<AnalyticConnection, Capabilities> _capabilities;
    private readonly CallLimit _calls;
    private readonly HostDrain _drain;
    private readonly int _maxReceiveMessageBytes;
    private readonly int _responseBundleBytes;
    private readonly int _maxCallMemoryMegabytes;
    private readonly TimeSpan _clientIdleTimeout;
    private readonly TimeSpan _maxClientWait;
    private readonly CallStatusMapper _statuses;
    private readonly FailureLogLimit<StatusCode> _failureLog;
    private readonly CallObserver _observer;
    private readonly ILogger _logger;

    public ConnectorService(
        ConnectionRegistry connections,
        IOptions<SsePluginOptions> options,
        CallLimit calls,
        HostDrain drain,
        CallObserver observer,
        ILogger<ConnectorService> logger)
    {
        _connections = connections;
        _capabilities = connections.All.ToDictionary(c => c, c => CapabilitiesBuilder.Build(c));
        _calls = calls;
        _drain = drain;
        _maxReceiveMessageBytes = options.Value.MaxReceiveMessageBytes;
        _responseBundleBytes = options.Value.ResponseBundleBytes;
        _maxCallMemoryMegabytes = options.Value.MaxCallMemoryMegabytes;
        _clientIdleTimeout = TimeSpan.FromSeconds(options.Value.ClientIdleTimeoutSeconds);
        _maxClientWait = TimeSpan.FromSeconds(options.Value.MaxClientWaitSeconds);
        _statuses = new CallStatusMapper(_clientIdleTimeout, _maxClientWait, drain.Closing);
        _observer = observer;
        _logger = logger;
        _failureLog = new FailureLogLimit<StatusCode>(
            (count, statuses) => Log.FailuresCounted(logger, count, statuses, FailureLogLimit.LinesPerSecond));
    }

    /// <summary>Binds the three methods; grpc-dotnet calls it with a null service to learn them.</summary>
    public static void BindService(ServiceBinderBase binder, ConnectorService? service)
    {
        binder.AddMethod(GetCapabilitiesMethod, service is null ? null : service.GetCapabilities);
        binder.AddMethod(ExecuteFunctionMethod, service is null ? null : service.ExecuteFunction);
        binder.AddMethod(EvaluateScriptMethod, service is null ? null : service.EvaluateScript);
    }

    public virtual async Task<Capabilities> GetCapabilities(Empty request, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        await _drain.CloseConnectionAfterCallAsync(http).ConfigureAwait(false);
        var connection = _connections.For(http);
        var capabilities = _capabilities[connection];
        Log.Capabilities(_logger, Caller(context), connection.Name, capabilities.Functions.Count);
        return capabilities;
    }

    public virtual Task ExecuteFunction(
        IAsyncStreamReader<RequestMessage> requests,
        IServerStreamWriter<ResponseChunk> responses,
        ServerCallContext context) =>
        RunAsync(nameof(ExecuteFunction), FindFunction, requests, responses, context);

    public virtual Task EvaluateScript(
        IAsyncStreamReader<RequestMessage> requests,
        IServerStreamWriter<ResponseChunk> responses,
        ServerCallContext context) =>
        RunAsync(nameof(EvaluateScript), PrepareScript, requests, responses, context);

    private static FunctionDefinition FindFunction(ServerCallContext context, AnalyticConnection connection)
    {
        var header = QlikHeaders.ReadFunction(context.GetHttpContext().Request.Headers);
        return connection.Catalog.TryGet(header.FunctionId, out var function)
            ? function
            : throw new CallFailure(
                CallFailureKind.UnknownFunction,
                $"Function id {header.FunctionId} is not a function of this plugin; it has "
                + $"{DescribeFunctions(connection)}. "
                + "Qlik's engine may hold an outdated list: restart the engine or save the analytic connection again.");
    }

    private static FunctionDefinition PrepareScript(ServerCallContext context, AnalyticConnection connection)
    {
        var script = QlikHeaders.ReadScript(context.GetHttpContext().Request.Headers);
        if (connection.Scripts is null)
        {
            throw new CallFailure(
                CallFailureKind.NotAllowed,
                "This plugin runs no scripts: no script engine is registered with it, so ScriptEval, ScriptAggr and "
                + "their siblings cannot be used here. Call the plugin's own functions instead; it has "
                + $"{DescribeFunctions(connection)}.");
        }

        return connection.Options.AllowScript
            ? connection.Scripts.Resolve(script)
            : throw new CallFailure(
                CallFailureKind.NotAllowed,
                "Script evaluation is disabled on this plugin (AllowScript is false): ScriptEval, ScriptAggr and "
                + "their siblings cannot be used here. "
                + $"Call the plugin's own functions instead; it has {DescribeFunctions(connection)}.");
    }

    /// <summary>
    /// Runs one call: resolves its function from the headers, streams rows through it, logs one line.
    /// </summary>
    private async Task RunAsync(
        string rpc,
        Func<ServerCallContext, AnalyticConnection, FunctionDefinition> resolve,
        IAsyncStreamReader<RequestMessage> requests,
        IServerStreamWriter<ResponseChunk> responses,
        ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var common = QlikHeaders.NoCommon;
        var name = rpc == nameof(EvaluateScript) ? "script" : "?";
        var http = context.GetHttpContext();
        await _drain.CloseConnectionAfterCallAsync(http).ConfigureAwait(false);
        var connection = _connections.For(http);
        var connectionId = http.Connection.Id;
        FunctionCall? call = null;
        ClientWatch? watch = null;
        GrpcRequestReader? reader = null;
        Status? failure = null;
        Exception? error = null;
        var admitted = false;
        var exhausted = false;
        // The function's token: cancelled when Qlik cancels or goes away, and by the call itself the moment its
        // request stream breaks, as Kestrel reports an abort on the request's own token only a little later.
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        using var deadline = new CallDeadline(context.Deadline, TimeProvider.System);
        try
        {
            common = QlikHeaders.ReadCommon(http.Request.Headers);
            var admission = _calls.TryEnter(connectionId);
            admitted = admission == CallLimit.Admission.Admitted;
            if (!admitted)
            {
                SseMeter.CallsRefused.Add(1);
                throw TooManyCalls(admission);
            }

            var function = resolve(context, connection);
            name = function.Name;
            if (_clientIdleTimeout > TimeSpan.Zero || _maxClientWait > TimeSpan.Zero)
            {
                watch = new ClientWatch(_clientIdleTimeout, _maxClientWait, cancellation, http);
                responses = watch.Watch(responses);
            }

            var callContext = new SseCallContext(common.AppId, common.UserId, common.Cardinality, cancellation.Token);
            reader = new GrpcRequestReader(requests, cancellation, watch, name, _maxReceiveMessageBytes);
            var answers = new GrpcAnswerWriter(responses, context);
            var response = new ResponseWriter(answers, callContext, function, _responseBundleBytes);
            call = new FunctionCall(function, reader, response, callContext, _maxCallMemoryMegabytes);
            await function.Invoker.InvokeAsync(call).ConfigureAwait(false);
            await response.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var ending = new CallEnding(
                cancellation.IsCancellationRequested,
                deadline.Passed,
                watch?.Ended ?? ClientWatch.Wait.None,
                watch?.EndedOverLimit ?? false);
            failure = _statuses.StatusOf(e, name, ending);
            // The heap, or the call's budget of it, ran out: memory goes back to the machine once the host is quiet.
            exhausted = CallStatusMapper.IsOutOfMemory(e);
            error = e;
        }
        finally
        {
            if (watch is not null)
            {
                await watch.DisposeAsync().ConfigureAwait(false);
            }

            if (admitted)
            {
                _calls.Exit(connectionId);
            }

            call?.End(exhausted);
        }

        // Logged once the call's slot is free, so that a caller who reads the line may call again at once. Checked
        // first, so that a host logging at Warning does not even describe the caller of a call that succeeded.
        var outcome = failure ?? Status.DefaultSuccess;
        if (_observer.Enabled)
        {
            _observer.Ended(
                rpc, connection, name, outcome, call?.RowsRead ?? 0, call?.Response.RowsWritten ?? 0, started);
        }

        var level = failure is null ? LogLevel.Information : LogLevel.Warning;
        if (_logger.IsEnabled(level) && (failure is null || _failureLog.TryLog(outcome.StatusCode)))
        {
            var line = new CallLine(
                rpc,
                name,
                connection.Name,
                Printable(common.AppId),
                Printable(common.UserId),
                Caller(context),
                call?.RowsRead ?? 0,
                call?.Response.RowsWritten ?? 0,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                outcome.StatusCode,
                failure is null ? null : Printable(outcome.Detail));
            var exception = outcome.StatusCode == StatusCode.Unknown ? error : null;
            _logger.Log(level, line.EventId, line, exception, CallLine.Format);
        }

        // The rest of the request is read before the status goes out, so that the stream ends cleanly (see
        // RequestDrain); a client that went away, cancelled or kept the call waiting has nothing more to send, and
        // one whose request grpc-dotnet refused (a message over the limit) is reset: its rest is not worth reading.
        if (!cancellation.IsCancellationRequested && error is not RpcException && reader?.Refused != true)
        {
            await RequestDrain.DrainAsync(http).ConfigureAwait(false);
        }

        if (failure is { } failed)
        {
            throw new RpcException(failed);
        }
    }

    private CallFailure TooManyCalls(CallLimit.Admission admission) => new(
        CallFailureKind.LimitExceeded,
        (admission == CallLimit.Admission.Full
            ? $"The plugin is already running {_calls.Max} calls, the most SsePlugin:MaxConcurrentCalls allows, "
                + "so this call was refused. "
            : $"Few of the {_calls.Max} calls SsePlugin:MaxConcurrentCalls allows are left, and this connection "
                + $"already runs as many as are left: the last {_calls.Shared} go to connections running fewer, "
                + "so that one client cannot take them all. ")
        + "Retry when fewer calls run, or raise SsePlugin:MaxConcurrentCalls (0 = no limit) if the machine has memory "
        + "and CPU to spare.");

    private static string DescribeFunctions(AnalyticConnection connection)
    {
        const int listed = 20;
        var functions = connection.Catalog.Functions;
        var named = string.Join(", ", functions.Take(listed).Select(f => $"{f.Id} {f.Name}"));
        return functions.Count switch
        {
            0 => "no functions",
            <= listed => $"these functions: {named}",
            _ => $"{functions.Count} functions: {named} and {functions.Count - listed} more "
                + "(GetCapabilities lists them all)",
        };
    }

    /// <summary>Who called: the peer's address and, under mutual TLS, the subject of its client certificate.</summary>
    private static string Caller(ServerCallContext context) =>
        context.GetHttpContext().Connection.ClientCertificate is { } certificate
            ? $"{context.Peer} ({certificate.Subject})"
            : context.Peer;

    /// <summary>
    /// The caller's text with control characters escaped (<c>\n</c>, <c>\u001b</c>), so that an app id, user id or
    /// quoted value cannot start a forged line in a text log or send terminal escapes.
    /// </summary>
    private static string Printable(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\0', '\u001f') && !text.AsSpan().ContainsAnyInRange('\u007f', '\u009f'))
        {
            return text;
        }

        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => printable.Append(@"\n"),
                '\r' => printable.Append(@"\r"),
                '\t' => printable.Append(@"\t"),
                _ when char.IsControl(c) => printable.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => printable.Append(c),
            };
        }

        return printable.ToString();
    }

    // grpc-dotnet reports a request it cannot deserialize as "Exception was thrown by handler."; say what was wrong.
    private static Empty ReadCapabilitiesRequest(byte[] body)
    {
        try
        {
            return Empty.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(
                StatusCode.InvalidArgument, $"The GetCapabilities request is not a valid Empty message: {e.Message}"));
        }
    }

    /// <summary>
    /// A call's log line, as source-generated log methods pass it: its values, then its template, which ends in the
    /// status's detail when the call failed. Written out so that both outcomes are logged from one place.
    /// </summary>
    private readonly struct CallLine(
        string rpc,
        string function,
        string connection,
        string appId,
        string userId,
        string caller,
        long rowsIn,
        long rowsOut,
        double durationMs,
        StatusCode status,
        string? detail) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private const string Succeeded = "{Rpc} {Function} on {Connection} app {AppId} user {UserId} from {Caller}: "
            + "{RowsIn} rows in, {RowsOut} out, {DurationMs:0.0} ms, {Status}";

        /// <summary>Writes the line for log providers that take text, as the template does.</summary>
        public static readonly Func<CallLine, Exception?, string> Format = static (line, _) => line.ToString();

        public EventId EventId => detail is null ? new(2, "CallSucceeded") : new(3, "CallFailed");

        public int Count => detail is null ? 11 : 12;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("Rpc", rpc),
            1 => new("Function", function),
            2 => new("Connection", connection),
            3 => new("AppId", appId),
            4 => new("UserId", userId),
            5 => new("Caller", caller),
            6 => new("RowsIn", rowsIn),
            7 => new("RowsOut", rowsOut),
            8 => new("DurationMs", durationMs),
            9 => new("Status", status),
            10 when detail is not null => new("Detail", detail),
            _ when index == Count - 1 => new("{OriginalFormat}", detail is null ? Succeeded : Succeeded + ": {Detail}"),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"{rpc} {function} on {connection} app {appId} user {userId} from {caller}: {rowsIn} rows in, "
            + $"{rowsOut} out, {durationMs:0.0} ms, {status}{(detail is null ? null : ": " + detail)}");
    }

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Information,
            "GetCapabilities from {Caller} on connection {Connection}: {FunctionCount} functions")]
        public static partial void Capabilities(ILogger logger, string caller, string connection, int functionCount);

        [LoggerMessage(
            4,
            LogLevel.Warning,
            "{Count} more calls failed within a second ({Statuses}), not logged one by one: past {Limit} a second "
            + "the log counts failed calls, so that a flood of them cannot flood it")]
        public static partial void FailuresCounted(ILogger logger, int count, string statuses, int limit);
    }
}
