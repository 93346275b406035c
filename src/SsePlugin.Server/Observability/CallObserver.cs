using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Observability;

/// <summary>
/// Where a call's end is recorded, once: the meter's instruments, the function's 15-minute history and, for a failed
/// call, the last errors. Off (<c>SsePlugin:Metrics:Enabled</c> false), it records nothing.
/// </summary>
internal sealed class CallObserver
{
    // The status names as tag values, built once: a tag of the enum would box it at every call.
    private static readonly string[] StatusNames = Enum.GetValues<StatusCode>()
        .Select(status => status.ToString()).ToArray();

    private readonly ConcurrentDictionary<(AnalyticConnection, string), FunctionHistory> _histories = new();

    /// <summary>Creates the observer.</summary>
    /// <param name="enabled">Whether calls are recorded.</param>
    /// <param name="time">The clock of the history.</param>
    public CallObserver(bool enabled, TimeProvider time)
    {
        Enabled = enabled;
        Time = time;
    }

    /// <summary>Gets whether calls are recorded.</summary>
    public bool Enabled { get; }

    /// <summary>Gets the clock of the history.</summary>
    public TimeProvider Time { get; }

    /// <summary>Gets the last failed calls.</summary>
    public RecentErrors Errors { get; } = new();

    /// <summary>Gets the functions called in this host's life, each with its last 15 minutes.</summary>
    public ICollection<FunctionHistory> Histories => _histories.Values;

    /// <summary>Records a call that ended.</summary>
    /// <param name="rpc">The RPC: <c>ExecuteFunction</c> or <c>EvaluateScript</c>.</param>
    /// <param name="connection">The analytic connection it came on.</param>
    /// <param name="function">The function's name; <c>?</c> when none was found.</param>
    /// <param name="status">Its status.</param>
    /// <param name="rowsIn">The rows it read.</param>
    /// <param name="rowsOut">The rows it answered.</param>
    /// <param name="started">Its start, a <see cref="Stopwatch"/> timestamp.</param>
    public void Ended(
        string rpc,
        AnalyticConnection connection,
        string function,
        in Status status,
        long rowsIn,
        long rowsOut,
        long started)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var code = (int)status.StatusCode;
        var statusName = code < StatusNames.Length ? StatusNames[code] : nameof(StatusCode.Unknown);
        var tags = new TagList
        {
            { "rpc", rpc },
            { "function", function },
            { "connection", connection.Name },
            { "status", statusName },
        };
        SseMeter.Calls.Add(1, tags);
        // The status is no tag of the histograms, which would otherwise need a series per bucket and status.
        tags.RemoveAt(3);
        SseMeter.CallDuration.Record(seconds, tags);
        SseMeter.RowsIn.Record(rowsIn, tags);
        SseMeter.RowsOut.Record(rowsOut, tags);

        var now = Time.GetUtcNow();
        var failed = status.StatusCode != StatusCode.OK;
        _histories.GetOrAdd((connection, function), Create, connection)
            .Record(now.ToUnixTimeSeconds(), seconds * 1000, failed);
        if (failed)
        {
            Errors.Add(new RecentError(now, connection.Name, function, statusName, status.Detail));
        }
    }

    private static FunctionHistory Create((AnalyticConnection, string) key, AnalyticConnection connection) =>
        new() { Connection = connection.Name, Function = key.Item2 };
}
