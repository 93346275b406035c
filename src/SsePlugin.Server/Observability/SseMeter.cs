using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SsePlugin.Server.Observability;

/// <summary>
/// SsePlugin's own meter, <c>SsePlugin</c>, and its instruments. Their tags are the RPC, the function, the analytic
/// connection and the status: names from the host's own catalog, never an app or user id (those stay in the call
/// log), so that a series per value stays bounded. A call records its duration and its rows, with its function's
/// tags built once; its count by status is read from the functions' histories (<see cref="CallObserver"/>) when
/// the meter is collected.
/// Instruments nobody listens to cost a call nearly nothing.
/// </summary>
internal static class SseMeter
{
    /// <summary>The meter's name, as OpenTelemetry is told to collect it.</summary>
    public const string Name = "SsePlugin";

    private static readonly Meter Meter = new(Name, typeof(SseMeter).Assembly.GetName().Version?.ToString());

    private static long _javaScriptWaiting;

    /// <summary>Gets the call observers of the hosts in this process whose metrics are on; an observer adds itself
    /// when made and removes itself when disposed.</summary>
    public static ConcurrentDictionary<CallObserver, bool> Observers { get; } = new();

    /// <summary>Gets the calls that ended, by RPC, function, connection and status.</summary>
    public static ObservableCounter<long> Calls { get; } = Meter.CreateObservableCounter(
        "sseplugin.calls",
        CallsByStatus,
        "{call}",
        "ExecuteFunction and EvaluateScript calls that ended, by status.");

    /// <summary>Gets how long calls took, from their headers to their status.</summary>
    public static Histogram<double> CallDuration { get; } = Meter.CreateHistogram(
        "sseplugin.call.duration",
        "s",
        "How long calls took, from their headers to their status.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                10, 30, 60, 300],
        });

    /// <summary>Gets the rows a call read.</summary>
    public static Histogram<long> RowsIn { get; } = Meter.CreateHistogram(
        "sseplugin.call.rows_in", "{row}", "Rows a call read from Qlik.", advice: RowBuckets());

    /// <summary>Gets the rows a call answered.</summary>
    public static Histogram<long> RowsOut { get; } = Meter.CreateHistogram(
        "sseplugin.call.rows_out", "{row}", "Rows a call answered.", advice: RowBuckets());

    /// <summary>Gets the calls refused by <c>SsePlugin:MaxConcurrentCalls</c>.</summary>
    public static Counter<long> CallsRefused { get; } = Meter.CreateCounter<long>(
        "sseplugin.calls.refused", "{call}", "Calls refused because SsePlugin:MaxConcurrentCalls were running.");

    /// <summary>Gets the JavaScript calls' waits for a processor, when every processor was taken.</summary>
    public static Histogram<double> JavaScriptWait { get; } = Meter.CreateHistogram<double>(
        "sseplugin.javascript.wait.duration", "s", "How long JavaScript calls waited for a processor.");

    /// <summary>Gets the R calls' waits for a session.</summary>
    public static Histogram<double> RSessionWait { get; } = Meter.CreateHistogram<double>(
        "sseplugin.r.session.wait.duration", "s", "How long R calls waited for an Rserve session.");

    /// <summary>Gets how often the host restarted its own Rserve.</summary>
    public static Counter<long> RserveRestarts { get; } = Meter.CreateCounter<long>(
        "sseplugin.rserve.restarts", "{restart}", "Restarts of the Rserve the host runs (--start-rserve).");

    /// <summary>Gets the TLS connections that ended without a completed handshake.</summary>
    public static Counter<long> TlsHandshakesRefused { get; } = Meter.CreateCounter<long>(
        "sseplugin.tls.handshakes_refused",
        "{connection}",
        "TLS connections that ended without a handshake: a plaintext client, no or a refused client certificate.");

    /// <summary>Gets the R session pools of the hosts in this process, each reading its busy and idle sessions;
    /// a pool adds itself when made and removes itself when disposed.</summary>
    public static ConcurrentDictionary<object, Func<(int Busy, int Idle)>> RSessionPools { get; } = new();

    /// <summary>Counts a JavaScript call in as waiting for a processor, until <see cref="JavaScriptWaitEnded"/>.
    /// </summary>
    public static void JavaScriptWaitStarted() => Interlocked.Increment(ref _javaScriptWaiting);

    /// <summary>Counts a JavaScript call out of the wait, recording how long it waited.</summary>
    /// <param name="seconds">How long it waited.</param>
    public static void JavaScriptWaitEnded(double seconds)
    {
        Interlocked.Decrement(ref _javaScriptWaiting);
        JavaScriptWait.Record(seconds);
    }

    /// <summary>Whether an instrument of ours is labelled by function, with a series per function.</summary>
    /// <param name="instrument">The instrument.</param>
    public static bool IsPerFunction(Instrument instrument) =>
        instrument == Calls || instrument == CallDuration || instrument == RowsIn || instrument == RowsOut;

    static SseMeter()
    {
        Meter.CreateObservableUpDownCounter(
            "sseplugin.calls.in_flight",
            () => Observers.Keys.Sum(observer => observer.InFlight),
            "{call}",
            "ExecuteFunction and EvaluateScript calls running.");
        Meter.CreateObservableUpDownCounter(
            "sseplugin.javascript.waiting",
            () => Volatile.Read(ref _javaScriptWaiting),
            "{call}",
            "JavaScript calls waiting for a processor: every processor runs a script.");
        Meter.CreateObservableUpDownCounter(
            "sseplugin.r.sessions", RSessions, "{session}", "R sessions, busy or idle.");
    }

    // The calls of every function of every host since its start, by status.
    private static List<Measurement<long>> CallsByStatus()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var observer in Observers.Keys)
        {
            foreach (var history in observer.Histories)
            {
                var calls = history.CallsByStatus();
                for (var code = 0; code < calls.Length; code++)
                {
                    if (calls[code] > 0)
                    {
                        measurements.Add(
                            new(calls[code], [.. history.Tags, new("status", CallObserver.StatusName(code))]));
                    }
                }
            }
        }

        return measurements;
    }

    private static InstrumentAdvice<long> RowBuckets() => new()
    {
        HistogramBucketBoundaries = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000],
    };

    private static IEnumerable<Measurement<int>> RSessions()
    {
        var (busy, idle) = (0, 0);
        foreach (var read in RSessionPools.Values)
        {
            var pool = read();
            (busy, idle) = (busy + pool.Busy, idle + pool.Idle);
        }

        return
        [
            new(busy, new KeyValuePair<string, object?>("state", "busy")),
            new(idle, new KeyValuePair<string, object?>("state", "idle")),
        ];
    }
}
