using Grpc.Core;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Transport;

/// <summary>How a call ended, as its own state tells it: what the mapper needs besides the failure.</summary>
/// <param name="Cancelled">Whether the call's token was cancelled: by its client, the host stopping or the watch.
/// </param>
/// <param name="PastDeadline">Whether the deadline its client set has passed (see <see cref="CallDeadline"/>).
/// </param>
/// <param name="ClientKeptWaiting">What the client kept the call waiting for, if the watch ended it.</param>
/// <param name="OverWaitLimit">Whether the watch ended the call for its waits in all, not for one long wait.</param>
internal readonly record struct CallEnding(
    bool Cancelled,
    bool PastDeadline = false,
    ClientWatch.Wait ClientKeptWaiting = ClientWatch.Wait.None,
    bool OverWaitLimit = false);

/// <summary>
/// The one place that turns whatever ended a call into the status and message Qlik gets: a <see cref="CallFailure"/>
/// by its kind, a malformed request, the host out of memory, the host stopping, the client cancelling, its deadline,
/// a client that kept the call waiting, and any other exception.
/// </summary>
/// <param name="clientIdleTimeout">How long a call may wait on its client at once (SsePlugin:ClientIdleTimeoutSeconds).
/// </param>
/// <param name="maxClientWait">How long a call may wait on its client in all (SsePlugin:MaxClientWaitSeconds).</param>
/// <param name="stopping">Cancelled when the host stops taking calls, once its drain delay is over.</param>
internal sealed class CallStatusMapper(TimeSpan clientIdleTimeout, TimeSpan maxClientWait, CancellationToken stopping)
{
    /// <summary>Gets the status a call that ended with <paramref name="exception"/> ends with.</summary>
    /// <param name="exception">What ended the call.</param>
    /// <param name="function">The name of the function called, or what stands for it before it is known.</param>
    /// <param name="ending">The call's own state when it ended.</param>
    /// <returns>The status, its message cut to what Qlik's engine takes.</returns>
    public Status StatusOf(Exception exception, string function, CallEnding ending)
    {
        var (code, detail) = ending.ClientKeptWaiting != ClientWatch.Wait.None
            ? (StatusCode.DeadlineExceeded, ClientKeptWaiting(ending.ClientKeptWaiting, ending.OverWaitLimit, function))
            : Describe(exception, function, ending);
        return new Status(code, FitToStatusHeader(detail));
    }

    /// <summary>Gets the gRPC status code of a kind of failure.</summary>
    public static StatusCode StatusOf(CallFailureKind kind) => kind switch
    {
        CallFailureKind.InvalidInput => StatusCode.InvalidArgument,
        CallFailureKind.LimitExceeded => StatusCode.ResourceExhausted,
        CallFailureKind.TimeLimitExceeded => StatusCode.DeadlineExceeded,
        CallFailureKind.Unavailable => StatusCode.Unavailable,
        CallFailureKind.EngineMisconfigured => StatusCode.FailedPrecondition,
        CallFailureKind.WrongAnswer => StatusCode.Internal,
        CallFailureKind.UnknownFunction => StatusCode.NotFound,
        CallFailureKind.NotAllowed => StatusCode.PermissionDenied,
        _ => StatusCode.Unknown,
    };

    /// <summary>Gets whether a call ended because the heap, or the call's budget of it, ran out.</summary>
    public static bool IsOutOfMemory(Exception exception) =>
        exception is OutOfMemoryException || exception.InnerException is OutOfMemoryException;

    private (StatusCode, string) Describe(Exception exception, string function, CallEnding ending) => exception switch
    {
        CallFailure e => (StatusOf(e.Kind), e.Message),
        MalformedRequestException e => (StatusCode.InvalidArgument, $"{function}: {e.Message}"),
        // Wherever it struck (the function, a script, the decoder), the heap is what ran out, not the call's logic.
        OutOfMemoryException => (
            StatusCode.ResourceExhausted,
            $"{function}: the host ran out of memory during the call; its heap is capped at "
            + $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024)} MB. Retry when fewer large calls run, "
            + "or lower SsePlugin:MaxCallMemoryMegabytes or SsePlugin:MaxConcurrentCalls so that calls fit together."),
        RpcException e => (e.StatusCode, e.Status.Detail),
        // Whatever ended a cancelled call (a function stopped, a write to a call already over), it ends as cancelled.
        // The host waits for running calls when it stops, and cuts off those still running after its shutdown timeout.
        _ when ending.Cancelled && stopping.IsCancellationRequested => (
            StatusCode.Unavailable,
            $"{function}: the plugin stopped before the call finished (it waits shutdownTimeoutSeconds for running "
            + "calls)."),
        _ when ending.Cancelled && ending.PastDeadline => (
            StatusCode.DeadlineExceeded, $"{function}: the call ran past the deadline the client set."),
        _ when ending.Cancelled => (StatusCode.Cancelled, $"{function}: the call was cancelled by the client."),
        _ => (StatusCode.Unknown, $"{function} failed: {exception.GetType().Name}: {exception.Message}"),
    };

    private string ClientKeptWaiting(ClientWatch.Wait wait, bool overLimit, string function)
    {
        var waitedFor = wait == ClientWatch.Wait.Request ? "for rows" : "for it to take answers";
        return overLimit
            ? $"{function}: the client kept the call waiting {waitedFor} {maxClientWait.TotalSeconds} s in all, "
                + "so the call was ended to free its slot (SsePlugin:MaxClientWaitSeconds). Qlik's engine sends "
                + "its rows and takes answers far faster; raise the setting only if a client of yours is this slow."
            : $"{function}: the client {(wait == ClientWatch.Wait.Request ? "sent no rows" : "took no answer")} "
                + $"for {clientIdleTimeout.TotalSeconds} s, so the call was ended to free its slot "
                + "(SsePlugin:ClientIdleTimeoutSeconds). Qlik's engine never pauses this long; raise the setting "
                + "only if a client of yours must.";
    }

    /// <summary>
    /// A status message short enough for Qlik's engine: a gRPC C-core client takes at most 8 KB of response headers,
    /// status included, and reports a longer status as a header-size error instead of its text. The message is cut
    /// at <see cref="QlikProtocol.MaxStatusMessageLength"/> characters as gRPC writes them (characters outside
    /// printable ASCII take three per UTF-8 byte).
    /// </summary>
    private static string FitToStatusHeader(string message)
    {
        const string cut = " [...]";
        var length = 0;
        var end = -1;
        var kept = 0;
        foreach (var rune in message.EnumerateRunes())
        {
            length += rune.Value is >= 0x20 and <= 0x7e and not '%' ? 1 : 3 * rune.Utf8SequenceLength;
            if (end < 0 && length > QlikProtocol.MaxStatusMessageLength - cut.Length)
            {
                end = kept;
            }

            if (length > QlikProtocol.MaxStatusMessageLength)
            {
                return string.Concat(message.AsSpan(0, end), cut);
            }

            kept += rune.Utf16SequenceLength;
        }

        return message;
    }
}
