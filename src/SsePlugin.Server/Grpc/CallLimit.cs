namespace SsePlugin.Server.Grpc;

/// <summary>Counts the calls running and refuses one over the limit at once: a counter, no queue, no waiting.</summary>
/// <param name="max">The most calls that may run together; 0 for no limit.</param>
internal sealed class CallLimit(int max)
{
    private int _running;

    /// <summary>Gets the most calls that may run together; 0 for no limit.</summary>
    public int Max { get; } = max;

    /// <summary>Counts a call in, unless <see cref="Max"/> calls are running.</summary>
    /// <returns><see langword="true"/> if the call may run; it must then call <see cref="Exit"/> when it ends.</returns>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _running) <= Max || Max <= 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _running);
        return false;
    }

    /// <summary>Counts a call out.</summary>
    public void Exit() => Interlocked.Decrement(ref _running);
}
