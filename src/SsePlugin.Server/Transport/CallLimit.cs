namespace SsePlugin.Server.Transport;

/// <summary>
/// Counts the calls running, in all and per HTTP/2 connection, and refuses one over the limit at once: no queue, no
/// waiting. The last eighth of the slots is shared out: a connection gets one of them only while it holds fewer
/// calls than there are slots left, so that a few connections holding many calls (Kestrel lets each run 100) cannot
/// take every slot from another.
/// </summary>
/// <param name="max">The most calls that may run together; 0 for no limit.</param>
internal sealed class CallLimit(int max)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _held = [];
    private int _running;

    /// <summary>Whether a call may run.</summary>
    public enum Admission
    {
        /// <summary>The call may run; it must then call <see cref="Exit"/> when it ends.</summary>
        Admitted,

        /// <summary><see cref="Max"/> calls are running.</summary>
        Full,

        /// <summary>Few slots are left, and the call's connection holds as many calls as there are.</summary>
        ShareTaken,
    }

    /// <summary>Gets the most calls that may run together; 0 for no limit.</summary>
    public int Max { get; } = max;

    /// <summary>Gets how many calls are running.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Gets how many of the last slots are shared out among connections.</summary>
    public int Shared => Max / 8;

    /// <summary>Counts a call of <paramref name="connection"/> in, if it may run.</summary>
    /// <param name="connection">The id of the HTTP/2 connection the call came on.</param>
    /// <returns>Whether the call may run.</returns>
    public Admission TryEnter(string connection)
    {
        if (Max <= 0)
        {
            Interlocked.Increment(ref _running);
            return Admission.Admitted;
        }

        lock (_gate)
        {
            var free = Max - _running;
            var held = _held.GetValueOrDefault(connection);
            if (free <= 0 || (free <= Shared && held >= free))
            {
                return free <= 0 ? Admission.Full : Admission.ShareTaken;
            }

            _held[connection] = held + 1;
            _running++;
            return Admission.Admitted;
        }
    }

    /// <summary>Counts a call out.</summary>
    /// <param name="connection">The id of the connection the call came on, as given to <see cref="TryEnter"/>.</param>
    public void Exit(string connection)
    {
        if (Max <= 0)
        {
            Interlocked.Decrement(ref _running);
            return;
        }

        lock (_gate)
        {
            _running--;
            var held = _held[connection] - 1;
            if (held == 0)
            {
                _held.Remove(connection);
            }
            else
            {
                _held[connection] = held;
            }
        }
    }
}
