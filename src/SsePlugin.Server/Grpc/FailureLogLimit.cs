using Grpc.Core;

namespace SsePlugin.Server.Grpc;

/// <summary>
/// Lets at most <see cref="LinesPerSecond"/> failed calls a second have a log line each, and counts the others, which
/// one line sums up when the second is over: a flood of failing calls, such as a client opening and resetting HTTP/2
/// streams by the thousand, costs a few lines a second instead of one per call, while a single failure is logged as
/// ever.
/// </summary>
internal sealed class FailureLogLimit
{
    /// <summary>The most failed calls logged one line each in a second.</summary>
    public const int LinesPerSecond = 20;

    private const long WindowMilliseconds = 1000;

    private readonly Lock _gate = new();
    private readonly int[] _unlogged = new int[(int)StatusCode.Unauthenticated + 1];
    private readonly Action<int, string> _summarize;
    private readonly ITimer _summary;

    private long _windowStart = -WindowMilliseconds;
    private int _logged;
    private bool _counting;

    /// <summary>Starts counting.</summary>
    /// <param name="summarize">Writes the line that sums up the calls not logged: their number, and by status.</param>
    public FailureLogLimit(Action<int, string> summarize)
    {
        _summarize = summarize;
        _summary = TimeProvider.System.CreateTimer(
            static limit => ((FailureLogLimit)limit!).Summarize(),
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>Counts a failed call.</summary>
    /// <param name="status">The call's status.</param>
    /// <returns>Whether the call gets a line of its own; otherwise the summary counts it.</returns>
    public bool TryLog(StatusCode status)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            if (now - _windowStart >= WindowMilliseconds)
            {
                _windowStart = now;
                _logged = 0;
            }

            if (_logged < LinesPerSecond)
            {
                _logged++;
                return true;
            }

            _unlogged[(int)status < _unlogged.Length ? (int)status : (int)StatusCode.Unknown]++;
            if (!_counting)
            {
                _counting = true;
                var due = TimeSpan.FromMilliseconds(_windowStart + WindowMilliseconds - now);
                _summary.Change(due, Timeout.InfiniteTimeSpan);
            }

            return false;
        }
    }

    private void Summarize()
    {
        var counts = new List<string>();
        var total = 0;
        lock (_gate)
        {
            for (var status = 0; status < _unlogged.Length; status++)
            {
                if (_unlogged[status] > 0)
                {
                    counts.Add($"{(StatusCode)status} {_unlogged[status]}");
                    total += _unlogged[status];
                }
            }

            Array.Clear(_unlogged);
            _counting = false;
        }

        _summarize(total, string.Join(", ", counts));
    }
}
