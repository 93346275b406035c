using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Observability;

namespace SsePlugin.R;

/// <summary>
/// The R sessions calls run in, at most <see cref="ROptions.PoolSize"/> at once. By default each session serves one
/// call and is then closed, its R process ended: every call runs in an R process no earlier call has run in, and the
/// pool keeps as many fresh sessions opened ahead (spares) so that a call does not wait for one. With
/// <see cref="ROptions.ReuseSessions"/> (and on Windows, where Rserve does not fork) sessions are kept for later calls.
/// A session is checked before it is lent, so one left dead by an Rserve restart is replaced. New sessions go to the
/// Rserves of <see cref="RserveSupervisor.Addresses"/> in turn, skipping one that cannot be reached until the
/// supervisor finds it back; when none can, a call fails at once and the next one tries them all again. When an Rserve
/// can be used again the sessions kept idle are closed, so that the next ones spread over it too. When R calls are
/// isolated, no two live sessions share a user id: a new R process under the id of a live session is ended and another
/// one opened.
/// </summary>
internal sealed partial class RservePool(
    IOptions<ROptions> options, RserveSupervisor supervisor, ILogger<RservePool> logger) : IAsyncDisposable
{
    private readonly ROptions _options = options.Value;
    // The Rserve the host runs has prepared every R process before it forks it.
    private readonly string _preparation =
        options.Value.Start ? string.Empty : RSession.Preparation(options.Value.InitScript);
    private readonly ConcurrentStack<RSession> _idle = new();
    private readonly SemaphoreSlim _slots = new(options.Value.Sessions, options.Value.Sessions);
    private readonly CancellationTokenSource _closing = new();
    private int _replenishing;
    private int _turn;
    private int _comebacks;
    private volatile bool _disposed;

    /// <summary>Lends a session for one call; give it back with <see cref="Return"/>.</summary>
    /// <exception cref="CallFailure">R cannot be reached, or the init script failed.</exception>
    public async Task<RSession> RentAsync(CancellationToken cancellationToken)
    {
        // Observed by the meter from the first call until the pool is disposed.
        SseMeter.RSessionPools.TryAdd(this, Sessions);
        var queued = Stopwatch.GetTimestamp();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (supervisor.Comebacks is var comebacks && comebacks != Volatile.Read(ref _comebacks))
            {
                Volatile.Write(ref _comebacks, comebacks);
                CloseIdle();
            }

            var session = await TakeIdleAsync(cancellationToken).ConfigureAwait(false)
                ?? await OpenAsync(cancellationToken).ConfigureAwait(false);
            Replenish();
            SseMeter.RSessionWait.Record(Stopwatch.GetElapsedTime(queued).TotalSeconds);
            return session;
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>
    /// Takes a session back: keeps it for the next call when sessions are reused and it still works; otherwise closes
    /// it, which ends its R process and every process its call started.
    /// </summary>
    public void Return(RSession session)
    {
        if (!_options.FreshProcesses && session.IsUsable && !_disposed)
        {
            _idle.Push(session);
        }
        else
        {
            session.Close();
        }

        _slots.Release();
    }

    // The sessions lent to calls, and those kept idle for the next ones, as the meter reads them.
    private (int Busy, int Idle) Sessions() => (_options.Sessions - _slots.CurrentCount, _idle.Count);

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        SseMeter.RSessionPools.TryRemove(this, out _);
        await _closing.CancelAsync().ConfigureAwait(false);
        CloseIdle();
    }

    // Opens fresh sessions in the background, side by side, until there are as many spares as sessions run at once;
    // stops at a failure (the next call opens its own session and reports it).
    private void Replenish()
    {
        if (!_options.FreshProcesses || _disposed || Interlocked.Exchange(ref _replenishing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            var failed = false;
            try
            {
                while (!failed && !_disposed && _options.Sessions - _idle.Count is > 0 and var missing)
                {
                    var spares = await Task.WhenAll(Enumerable.Range(0, missing).Select(_ => TryOpenAsync()))
                        .ConfigureAwait(false);
                    foreach (var spare in spares)
                    {
                        if (spare is not null)
                        {
                            _idle.Push(spare);
                        }
                    }

                    failed = Array.Exists(spares, spare => spare is null);
                }
            }
            finally
            {
                Volatile.Write(ref _replenishing, 0);
                if (_disposed)
                {
                    CloseIdle();
                }
                else if (!failed && _idle.Count < _options.Sessions)
                {
                    // A call took a spare after the loop's last check, and its Replenish found this one running.
                    Replenish();
                }
            }
        });
    }

    // Opens a spare (connecting within ConnectTimeoutSeconds, the whole within TimeoutSeconds); null if that fails.
    private async Task<RSession?> TryOpenAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        try
        {
            return await OpenAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    private async Task<RSession?> TakeIdleAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryPop(out var idle))
        {
            if (await IsAliveAsync(idle, cancellationToken).ConfigureAwait(false))
            {
                return idle;
            }

            idle.Close();
        }

        return null;
    }

    private void CloseIdle()
    {
        while (_idle.TryPop(out var session))
        {
            session.Close();
        }
    }

    // Opens a session; when its R process got the id of a live session, opens another, as often as there can be live
    // sessions (Rserve gives connections the block's ids in turn).
    private async Task<RSession> OpenAsync(CancellationToken cancellationToken)
    {
        var ids = _options.CanEndSessions ? supervisor.Ids : null;
        for (var attempt = 0; attempt <= 2 * _options.Sessions; attempt++)
        {
            if (await OpenOnceAsync(ids, cancellationToken).ConfigureAwait(false) is { } session)
            {
                return session;
            }
        }

        throw new CallFailure(
            CallFailureKind.Unavailable,
            "R is not available: every new R process got the user id of a live R session. Try again.");
    }

    // Opens a session; null when its R process got the id of a live session.
    private async Task<RSession?> OpenOnceAsync(IsolationIdBlock? ids, CancellationToken cancellationToken)
    {
        var (connection, address) = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = await RSession
                .OpenAsync(connection, _preparation, _options.CanEndSessions, ids, cancellationToken)
                .ConfigureAwait(false);
            if (session is null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                Log.Opened(logger, address.Name);
            }

            return session;
        }
        catch (Exception e)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            if (e is RSessionSetupException)
            {
                Log.SessionSetupFailed(logger, e.Message);
                throw new CallFailure(CallFailureKind.EngineMisconfigured, e.Message);
            }

            throw;
        }
    }

    // Connects to the Rserves in turn, starting from the next one: one that is down is skipped while another can be
    // used (the supervisor tries it every few seconds); when none can, every one is tried.
    private async Task<(RserveConnection, RserveAddress)> ConnectAsync(CancellationToken cancellationToken)
    {
        var addresses = supervisor.Addresses;
        var first = (int)((uint)Interlocked.Increment(ref _turn) % (uint)addresses.Count);
        var skipped = new List<RserveAddress>();
        var problems = new List<string>();
        for (var i = 0; i < addresses.Count; i++)
        {
            var address = addresses[(first + i) % addresses.Count];
            if (address.Problem is not null)
            {
                skipped.Add(address);
            }
            else if (await TryConnectAsync(address, problems, cancellationToken).ConfigureAwait(false) is { } open)
            {
                return (open, address);
            }
        }

        foreach (var address in skipped)
        {
            if (await TryConnectAsync(address, problems, cancellationToken).ConfigureAwait(false) is { } open)
            {
                return (open, address);
            }
        }

        throw new CallFailure(
            CallFailureKind.Unavailable,
            _options.Start
                ? $"R is not available: the Rserve the host runs cannot be used ({problems[0]}); the host restarts "
                    + "it when it dies (see the log)."
                : addresses.Count == 1
                    ? $"R is not available: Rserve at {addresses[0].Name} cannot be used ({problems[0]}). Start "
                        + "Rserve, check SsePlugin:Rserve:Address, or let the host run it with --start-rserve."
                    : "R is not available: no Rserve of SsePlugin:Rserve:Addresses can be used. "
                        + $"{string.Join(" ", problems)} Start them, or check SsePlugin:Rserve:Addresses.");
    }

    // Connects to one Rserve; null, with the problem added, when it cannot be used.
    private async Task<RserveConnection?> TryConnectAsync(
        RserveAddress address, List<string> problems, CancellationToken cancellationToken)
    {
        try
        {
            return await supervisor.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (RserveException e)
        {
            problems.Add(e.Message);
            return null;
        }
    }

    private static async Task<bool> IsAliveAsync(RSession session, CancellationToken cancellationToken)
    {
        if (!session.IsUsable)
        {
            return false;
        }

        try
        {
            await session.Connection.VoidEvalAsync("NULL", cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RserveException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "New R session on Rserve at {Address}")]
        public static partial void Opened(ILogger logger, string address);

        [LoggerMessage(3, LogLevel.Error, "{Problem}")]
        public static partial void SessionSetupFailed(ILogger logger, string problem);
    }
}
