using System.Runtime.InteropServices;

namespace SsePlugin.Server.Security;

/// <summary>
/// Lets at most <see cref="FailureLogLimit.LinesPerSecond"/> failures a second have a log line each, and counts the
/// others by kind, which one line sums up when the second is over: a flood of failures, such as a client opening and
/// resetting HTTP/2 streams or failing TLS handshakes by the thousand, costs a few lines a second instead of one per
/// failure, while a single failure is logged as ever.
/// </summary>
/// <typeparam name="TKind">What the summary counts the failures by, e.g. a call's status.</typeparam>
internal sealed class FailureLogLimit<TKind>
    where TKind : notnull
{
    private const long WindowMilliseconds = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<TKind, int> _unlogged = [];
    private readonly Action<int, string> _summarize;
    private readonly ITimer _summary;

    private long _windowStart = -WindowMilliseconds;
    private int _logged;

    /// <summary>Starts counting.</summary>
    /// <param name="summarize">Writes the line that sums up the failures not logged: their number, and by kind.</param>
    public FailureLogLimit(Action<int, string> summarize)
    {
        _summarize = summarize;
        _summary = TimeProvider.System.CreateTimer(
            static limit => ((FailureLogLimit<TKind>)limit!).Summarize(),
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>Counts a failure.</summary>
    /// <param name="kind">What failed, or how.</param>
    /// <returns>Whether the failure gets a line of its own; otherwise the summary counts it.</returns>
    public bool TryLog(TKind kind)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            if (now - _windowStart >= WindowMilliseconds)
            {
                _windowStart = now;
                _logged = 0;
            }

            if (_logged < FailureLogLimit.LinesPerSecond)
            {
                _logged++;
                return true;
            }

            if (_unlogged.Count == 0)
            {
                var due = TimeSpan.FromMilliseconds(_windowStart + WindowMilliseconds - now);
                _summary.Change(due, Timeout.InfiniteTimeSpan);
            }

            CollectionsMarshal.GetValueRefOrAddDefault(_unlogged, kind, out _)++;
            return false;
        }
    }

    private void Summarize()
    {
        string counts;
        int total;
        lock (_gate)
        {
            total = _unlogged.Values.Sum();
            counts = string.Join(", ", _unlogged.Select(unlogged => $"{unlogged.Key} {unlogged.Value}"));
            _unlogged.Clear();
        }

        _summarize(total, counts);
    }
}

/// <summary>The limit that <see cref="FailureLogLimit{TKind}"/> applies.</summary>
internal static class FailureLogLimit
{
    /// <summary>The most failures logged one line each in a second.</summary>
    public const int LinesPerSecond = 20;
}
