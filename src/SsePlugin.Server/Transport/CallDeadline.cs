namespace SsePlugin.Server.Transport;

/// <summary>
/// Marks when a call's client may have reached the deadline it set: a timer started with the call from the deadline
/// grpc-dotnet read from its <c>grpc-timeout</c> header. The client's copy of the deadline passes first, as the
/// server's counts from when the call arrived here (later by the network, and by however long a loaded machine took
/// to start it), so the mark is set <see cref="ClientLead"/> before the server's copy passes. A client that cancels
/// after the mark ran into its deadline; one that cancels before it cancelled.
/// </summary>
internal sealed class CallDeadline : IDisposable
{
    /// <summary>How much sooner than the server's copy the client's copy of a deadline may pass.</summary>
    public static readonly TimeSpan ClientLead = TimeSpan.FromSeconds(2);

    // None for a call without a deadline.
    private readonly CancellationTokenSource? _reached;

    /// <summary>Starts the timer of a call's deadline.</summary>
    /// <param name="deadline">The call's deadline (UTC); <see cref="DateTime.MaxValue"/> for none.</param>
    /// <param name="time">The clock.</param>
    public CallDeadline(DateTime deadline, TimeProvider time)
    {
        if (deadline == DateTime.MaxValue)
        {
            return;
        }

        var remaining = deadline - time.GetUtcNow().UtcDateTime - ClientLead;
        _reached = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
    }

    /// <summary>Gets whether the client's deadline may have passed.</summary>
    public bool Passed => _reached?.IsCancellationRequested ?? false;

    public void Dispose() => _reached?.Dispose();
}
