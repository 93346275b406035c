using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting.R;

/// <summary>
/// The R sessions calls run in, at most <see cref="ROptions.PoolSize"/> at once. A session is checked before it is
/// lent, so one left dead by an Rserve restart is replaced; when Rserve cannot be reached a call fails at once and
/// the next one tries again.
/// </summary>
internal sealed partial class RservePool(IOptions<ROptions> options, ILogger<RservePool> logger) : IAsyncDisposable
{
    private readonly ROptions _options = options.Value;
    private readonly ConcurrentStack<RSession> _idle = new();
    private readonly SemaphoreSlim _slots = new(options.Value.Sessions, options.Value.Sessions);
    private volatile bool _disposed;

    /// <summary>Lends a session for one call; give it back with <see cref="Return"/>.</summary>
    /// <exception cref="SseCallException">R cannot be reached, or the init script failed.</exception>
    public async Task<RSession> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (_idle.TryPop(out var idle))
            {
                if (await IsAliveAsync(idle, cancellationToken).ConfigureAwait(false))
                {
                    return idle;
                }

                await idle.DisposeAsync().ConfigureAwait(false);
            }

            return await OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Takes a session back; a broken one, or any once the pool is disposed, is closed instead of kept.</summary>
    public void Return(RSession session)
    {
        if (session.IsUsable && !_disposed)
        {
            _idle.Push(session);
        }
        else
        {
            _ = session.DisposeAsync().AsTask();
        }

        _slots.Release();
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryPop(out var session))
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<RSession> OpenAsync(CancellationToken cancellationToken)
    {
        RserveConnection connection;
        try
        {
            connection = await RserveConnection.ConnectAsync(
                new RserveConnectionOptions
                {
                    Host = _options.Host,
                    Port = _options.Port,
                    User = _options.User,
                    Password = _options.Password,
                    ConnectTimeout = TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds),
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RserveException e)
        {
            Log.Unreachable(logger, _options.Address, e.Message);
            throw new SseCallException(
                StatusCode.Unavailable,
                $"R is not available: Rserve at {_options.Address} cannot be used ({e.Message}). "
                + "Start Rserve, check SsePlugin:Rserve:Address, or let the host run it with --start-rserve.");
        }

        try
        {
            var session = await RSession.OpenAsync(connection, _options.InitScript, _options.CanEndSessions, cancellationToken).ConfigureAwait(false);
            Log.Opened(logger, _options.Address);
            return session;
        }
        catch (Exception e)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            if (e is RInitScriptException)
            {
                Log.InitScriptFailed(logger, e.Message);
                throw new SseCallException(StatusCode.FailedPrecondition, e.Message);
            }

            throw;
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
        [LoggerMessage(1, LogLevel.Information, "New R session on Rserve at {Address}")]
        public static partial void Opened(ILogger logger, string address);

        [LoggerMessage(2, LogLevel.Warning, "Rserve at {Address} cannot be used: {Problem}")]
        public static partial void Unreachable(ILogger logger, string address, string problem);

        [LoggerMessage(3, LogLevel.Error, "{Problem}")]
        public static partial void InitScriptFailed(ILogger logger, string problem);
    }
}
