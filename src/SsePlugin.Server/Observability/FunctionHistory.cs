namespace SsePlugin.Server.Observability;

/// <summary>
/// One function's calls over the last 15 minutes, for the status page: per 5 seconds, the calls, the failed ones and
/// a small histogram of their durations; and since the start, its calls by status, which the meter reads when it is
/// collected. Fixed in size (about 13 KB), whatever the traffic.
/// </summary>
/// <param name="rpc">The RPC it is called by.</param>
/// <param name="connection">The analytic connection it belongs to.</param>
/// <param name="function">The function's name.</param>
internal sealed class FunctionHistory(string rpc, string connection, string function)
{
    /// <summary>The seconds each bucket covers.</summary>
    public const int BucketSeconds = 5;

    /// <summary>How many buckets are kept: 15 minutes.</summary>
    public const int Buckets = 180;

    // Upper bounds of the duration histogram, in milliseconds; the last bin holds everything longer.
    private static readonly double[] Bounds = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly Lock _gate = new();
    private readonly long[] _stamps = new long[Buckets];
    private readonly int[] _calls = new int[Buckets];
    private readonly int[] _errors = new int[Buckets];
    private readonly int[] _durations = new int[Buckets * (Bounds.Length + 1)];
    // The gRPC status codes, 0 (OK) to 16.
    private readonly long[] _callsByStatus = new long[17];

    /// <summary>Gets the connection the function belongs to.</summary>
    public string Connection { get; } = connection;

    /// <summary>Gets the function's name.</summary>
    public string Function { get; } = function;

    /// <summary>Gets the labels of the function's series: rpc, function and connection, built once.</summary>
    public KeyValuePair<string, object?>[] Tags { get; } =
        [new("rpc", rpc), new("function", function), new("connection", connection)];

    /// <summary>Counts a call that ended at <paramref name="unixSeconds"/>.</summary>
    /// <param name="unixSeconds">When it ended.</param>
    /// <param name="milliseconds">How long it took.</param>
    /// <param name="status">Its gRPC status code, 0 to 16.</param>
    public void Record(long unixSeconds, double milliseconds, int status)
    {
        var bin = 0;
        while (bin < Bounds.Length && milliseconds > Bounds[bin])
        {
            bin++;
        }

        var bucket = unixSeconds / BucketSeconds;
        var slot = (int)(bucket % Buckets);
        lock (_gate)
        {
            if (_stamps[slot] != bucket)
            {
                _stamps[slot] = bucket;
                _calls[slot] = 0;
                _errors[slot] = 0;
                Array.Clear(_durations, slot * (Bounds.Length + 1), Bounds.Length + 1);
            }

            _calls[slot]++;
            _errors[slot] += status == 0 ? 0 : 1;
            _durations[(slot * (Bounds.Length + 1)) + bin]++;
            _callsByStatus[status]++;
        }
    }

    /// <summary>The calls since the start, by status code.</summary>
    public long[] CallsByStatus()
    {
        lock (_gate)
        {
            return [.. _callsByStatus];
        }
    }

    /// <summary>The last 15 minutes up to <paramref name="unixSeconds"/>, oldest first.</summary>
    public FunctionSeries Read(long unixSeconds)
    {
        var now = unixSeconds / BucketSeconds;
        var series = new FunctionSeries(Connection, Function, Buckets);
        var bins = new int[Bounds.Length + 1];
        lock (_gate)
        {
            for (var i = 0; i < Buckets; i++)
            {
                var bucket = now - Buckets + 1 + i;
                var slot = (int)(bucket % Buckets);
                var current = _stamps[slot] == bucket;
                // The current bucket has run for part of its seconds only.
                var seconds = bucket == now ? (unixSeconds % BucketSeconds) + 1 : BucketSeconds;
                series.Times[i] = bucket * BucketSeconds;
                series.Calls[i] = current ? _calls[slot] : 0;
                series.CallsPerSecond[i] = Math.Round((double)series.Calls[i] / seconds, 2);
                series.Errors[i] = current ? _errors[slot] : 0;
                if (current && _calls[slot] > 0)
                {
                    Array.Copy(_durations, slot * bins.Length, bins, 0, bins.Length);
                    series.P50[i] = Percentile(bins, _calls[slot], 0.50);
                    series.P99[i] = Percentile(bins, _calls[slot], 0.99);
                }
            }
        }

        return series;
    }

    // The upper bound of the bin the percentile falls in (twice the last bound for the open-ended bin).
    private static double Percentile(int[] bins, int count, double quantile)
    {
        var rank = Math.Ceiling(count * quantile);
        var seen = 0;
        for (var bin = 0; bin < bins.Length; bin++)
        {
            seen += bins[bin];
            if (seen >= rank)
            {
                return bin < Bounds.Length ? Bounds[bin] : 2 * Bounds[^1];
            }
        }

        return 2 * Bounds[^1];
    }
}

/// <summary>A function's last 15 minutes as the status page charts them, oldest first; p50/p99 in ms, null where
/// no call ended.</summary>
internal sealed class FunctionSeries(string connection, string function, int length)
{
    public string Connection { get; } = connection;

    public string Function { get; } = function;

    public long[] Times { get; } = new long[length];

    public int[] Calls { get; } = new int[length];

    public double[] CallsPerSecond { get; } = new double[length];

    public int[] Errors { get; } = new int[length];

    public double?[] P50 { get; } = new double?[length];

    public double?[] P99 { get; } = new double?[length];
}
