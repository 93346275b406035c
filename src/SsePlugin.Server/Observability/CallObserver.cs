using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Observability;

/// <summary>
/// Where a call's end is recorded, once: its duration and rows in the meter, its status and duration in the
/// function's history (which the meter reads when collected, and the status page charts) and, for a failed call,
/// the last errors. Off (<c>SsePlugin:Metrics:Enabled</c> false), it records nothing.
/// </summary>
internal sealed class CallObserver : IDisposable
{
    // The status names as tag values, built once: a tag of the enum would box it at every call.
    private static readonly string[] StatusNames =
        [.. Enum.GetValues<StatusCode>().Select(status => status.ToString())];

    private readonly ConcurrentDictionary<(string, AnalyticConnection, string), FunctionHistory> _histories = new();
    private readonly CallLimit _calls;

    /// <summary>Creates the observer.</summary>
    /// <param name="enabled">Whether calls are recorded.</param>
    /// <param name="calls">The calls running.</param>
    /// <param name="time">The clock of the history.</param>
    public CallObserver(bool enabled, CallLimit calls, TimeProvider time)
    {
        Enabled = enabled;
        Time = time;
        _calls = calls;
        if (enabled)
        {
            SseMeter.Observers.TryAdd(this, true);
        }
    }

    /// <summary>Gets whether calls are recorded.</summary>
    public bool Enabled { get; }

    /// <summary>Gets the clock of the history.</summary>
    public TimeProvider Time { get; }

    /// <summary>Gets the calls running now.</summary>
    public int InFlight => _calls.Running;

    /// <summary>Gets the last failed calls.</summary>
    public RecentErrors Errors { get; } = new();

    /// <summary>Gets the functions called in this host's life, each with its last 15 minutes.</summary>
    public ICollection<FunctionHistory> Histories => _histories.Values;

    /// <summary>The name of a gRPC status code, as a tag value.</summary>
    /// <param name="code">The code, 0 to 16.</param>
    public static string StatusName(int code) => StatusNames[code];

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
        code = (uint)code < (uint)StatusNames.Length ? code : (int)StatusCode.Unknown;
        var history = _histories.GetOrAdd((rpc, connection, function), Create);
        SseMeter.CallDuration.Record(seconds, history.Tags);
        SseMeter.RowsIn.Record(rowsIn, history.Tags);
        SseMeter.RowsOut.Record(rowsOut, history.Tags);

        var now = Time.GetUtcNow();
        history.Record(now.ToUnixTimeSeconds(), seconds * 1000, code);
        if (code != (int)StatusCode.OK)
        {
            Errors.Add(new RecentError(now, connection.Name, function, StatusNames[code], status.Detail));
        }
    }

    /// <summary>Stops the meter reading this host's calls.</summary>
    public void Dispose() => SseMeter.Observers.TryRemove(this, out _);

    private static FunctionHistory Create((string Rpc, AnalyticConnection Connection, string Function) key) =>
        new(key.Rpc, key.Connection.Name, key.Function);
}
