namespace SsePlugin.Server.Observability;

/// <summary>A failed call as the status page lists it.</summary>
/// <param name="Time">When it ended.</param>
/// <param name="Connection">The analytic connection.</param>
/// <param name="Function">The function, <c>?</c> when it was not found.</param>
/// <param name="Status">The gRPC status.</param>
/// <param name="Message">The status's message, as Qlik got it.</param>
internal sealed record RecentError(
    DateTimeOffset Time, string Connection, string Function, string Status, string Message);

/// <summary>The last failed calls, newest first; a fixed number is kept.</summary>
internal sealed class RecentErrors
{
    /// <summary>How many failed calls are kept.</summary>
    public const int Kept = 20;

    private readonly Lock _gate = new();
    private readonly RecentError[] _errors = new RecentError[Kept];
    private int _count;

    /// <summary>Keeps a failed call, dropping the oldest when full.</summary>
    public void Add(RecentError error)
    {
        lock (_gate)
        {
            _errors[_count % Kept] = error;
            _count++;
        }
    }

    /// <summary>The failed calls kept, newest first.</summary>
    public List<RecentError> Read()
    {
        lock (_gate)
        {
            var kept = Math.Min(_count, Kept);
            var newestFirst = new List<RecentError>(kept);
            for (var i = 1; i <= kept; i++)
            {
                newestFirst.Add(_errors[(_count - i) % Kept]);
            }

            return newestFirst;
        }
    }
}
