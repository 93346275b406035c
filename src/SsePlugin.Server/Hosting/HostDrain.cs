using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// Drains a stopping host: the moment it is told to stop (SIGTERM, Ctrl+C, a service stop) its health turns
/// <c>NOT_SERVING</c>, new calls are still taken for <see cref="SsePluginOptions.DrainDelaySeconds"/>, so that a load
/// balancer sees the change before the port closes, and only then does the server stop listening and wait for the
/// running calls. A second signal during the delay ends the delay. Runs before every hosted service stops, the web
/// server among them; the host's shutdown timeout is lengthened by the delay (see
/// <see cref="AddDelayToShutdownTimeout"/>). Each call taken while draining closes its connection behind it (see
/// <see cref="CloseConnectionAfterCallAsync"/>), so that no connection is left idle when the port closes.
/// </summary>
internal sealed partial class HostDrain(
    IOptions<SsePluginOptions> options,
    IOptions<HostOptions> hostOptions,
    CallLimit calls,
    ListenSockets listening,
    ILogger<HostDrain> logger) : IHostedLifecycleService, IDisposable
{
    /// <summary>How long a call taken while draining waits for its connection to send GOAWAY.</summary>
    private static readonly TimeSpan GoAwayHeadStart = TimeSpan.FromMilliseconds(100);

    /// <summary>How long Kestrel gets to accept the connections queued when the port stops taking new ones.</summary>
    private static readonly TimeSpan AcceptQueueDrain = TimeSpan.FromMilliseconds(100);

    private readonly TimeSpan _delay = TimeSpan.FromSeconds(options.Value.DrainDelaySeconds);
    private readonly CancellationTokenSource _closing = new();
    private volatile bool _draining;
    private long _drainStarted;

    /// <summary>Gets whether the host is stopping: its health is <c>NOT_SERVING</c>.</summary>
    public bool IsDraining => _draining;

    /// <summary>Gets a token cancelled when the host stops taking calls, once the drain delay is over.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Gets how long new calls are taken once the host is told to stop.</summary>
    public TimeSpan Delay => _delay;

    /// <summary>Lengthens the host's shutdown timeout by the drain delay, so that running calls still get
    /// <c>shutdownTimeoutSeconds</c> once the delay is over.</summary>
    /// <param name="host">The generic host's options.</param>
    /// <param name="sse">The SSE server's options.</param>
    public static void AddDelayToShutdownTimeout(HostOptions host, SsePluginOptions sse)
    {
        if (host.ShutdownTimeout != Timeout.InfiniteTimeSpan && sse.DrainDelaySeconds > 0)
        {
            host.ShutdownTimeout += TimeSpan.FromSeconds(sse.DrainDelaySeconds);
        }
    }

    /// <summary>
    /// While draining, asks the call's HTTP/2 connection to close once its running calls end: Kestrel sends a GOAWAY
    /// that lets them finish, while this call runs. A proxy that keeps connections to reuse them (nginx) then closes
    /// this one after the call instead of keeping it idle, so that the host never closes a connection on which a
    /// call may be on its way (a proxy cannot retry a call whose request it began to send). A direct client (Qlik's
    /// engine) opens a new connection for its next calls. Awaited at a call's start: while draining, it gives the
    /// connection <see cref="GoAwayHeadStart"/> to send the GOAWAY before the call can end, as a connection that
    /// closes with no call running closes at once and may cut the last call's trailers (Kestrel 10).
    /// </summary>
    /// <param name="call">The call's HTTP context.</param>
    /// <returns>A task that ends at once unless the host is draining.</returns>
    public ValueTask CloseConnectionAfterCallAsync(HttpContext call)
    {
        if (!_draining)
        {
            return ValueTask.CompletedTask;
        }

        call.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        return new ValueTask(Task.Delay(GoAwayHeadStart));
    }

    /// <summary>Starts the drain: health goes <c>NOT_SERVING</c>, and calls are taken until the delay is over or
    /// a second signal comes.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _drainStarted = Stopwatch.GetTimestamp();
        _draining = true;
        if (_delay > TimeSpan.Zero)
        {
            Log.Draining(logger, _delay.TotalSeconds);
            using var skip = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var terminate = OnSignal(PosixSignal.SIGTERM, skip);
            using var interrupt = OnSignal(PosixSignal.SIGINT, skip);
            try
            {
                await Task.Delay(_delay, skip.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Log.DelayCut(logger);
            }
        }

        var timeout = hostOptions.Value.ShutdownTimeout;
        var left = timeout == Timeout.InfiniteTimeSpan
            ? "as long as they run"
            : $"up to {Math.Max(0, (timeout - Stopwatch.GetElapsedTime(_drainStarted)).TotalSeconds):0} s";
        if (calls.Max > 0)
        {
            Log.StoppedTakingCalls(logger, left, calls.Running);
        }
        else
        {
            Log.StoppedTakingCallsUncounted(logger, left);
        }

        // The connections already queued are accepted, their calls taken, before the port closes.
        if (listening.RefuseNewConnections())
        {
            await Task.Delay(AcceptQueueDrain, CancellationToken.None).ConfigureAwait(false);
        }

        await _closing.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Logs that the host stopped, once the server has let the last call go.</summary>
    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_drainStarted == 0)
        {
            return Task.CompletedTask;
        }

        Log.Stopped(logger, Stopwatch.GetElapsedTime(_drainStarted).TotalSeconds);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public void Dispose() => _closing.Dispose();

    // The host's lifetime took the first signal in and ignores the next; this one ends the delay. Null where the
    // platform has no such signal.
    private static PosixSignalRegistration? OnSignal(PosixSignal signal, CancellationTokenSource skip)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                skip.Cancel();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Information,
            "Draining: health is NOT_SERVING; new calls taken for {DelaySeconds} s more "
            + "(SsePlugin:DrainDelaySeconds; Ctrl+C or SIGTERM again stops taking them at once)")]
        public static partial void Draining(ILogger logger, double delaySeconds);

        [LoggerMessage(2, LogLevel.Information, "Told to stop again: the rest of the drain delay is skipped")]
        public static partial void DelayCut(ILogger logger);

        [LoggerMessage(3, LogLevel.Information, "Stopped taking calls; waiting {Left} for {Running} running calls")]
        public static partial void StoppedTakingCalls(ILogger logger, string left, int running);

        [LoggerMessage(4, LogLevel.Information, "Stopped taking calls; waiting {Left} for the running calls")]
        public static partial void StoppedTakingCallsUncounted(ILogger logger, string left);

        [LoggerMessage(5, LogLevel.Information, "Stopped, {Seconds:0.0} s after being told to stop")]
        public static partial void Stopped(ILogger logger, double seconds);
    }
}
