using Microsoft.Extensions.Logging;

namespace SsePlugin.Server.Hosting;

/// <summary>A child process a <see cref="ProcessSupervisor{TProcess}"/> runs; disposing it ends it.</summary>
internal interface ISupervisedProcess : IAsyncDisposable
{
    /// <summary>Gets its process id.</summary>
    int ProcessId { get; }

    /// <summary>Gets a task that completes when it exits.</summary>
    Task Exited { get; }

    /// <summary>Gets what it said, or its exit code, once it has exited: for the log.</summary>
    string ExitReport { get; }
}

/// <summary>How long a <see cref="ProcessSupervisor{TProcess}"/> waits before it starts a process that died again.
/// </summary>
/// <param name="First">The first pause, and the pause again after a healthy run.</param>
/// <param name="Longest">The longest pause: each failed start doubles it up to this.</param>
/// <param name="HealthyRun">How long a process must have run for its death to start the pauses from the first.</param>
internal sealed record RestartPauses(TimeSpan First, TimeSpan Longest, TimeSpan HealthyRun);

/// <summary>
/// A child process an engine runs for the host (Rserve, the Python worker): started once (its failure is the
/// caller's), started again with growing pauses whenever it dies, and ended with the host. Its health is
/// <see cref="IsRunning"/>.
/// </summary>
/// <typeparam name="TProcess">The process.</typeparam>
/// <param name="name">What the log calls it (<c>Rserve</c>).</param>
/// <param name="start">Starts it; an exception is a failed start.</param>
/// <param name="pauses">The pauses between its death and a new start.</param>
/// <param name="restarted">Called after each start that follows a death.</param>
/// <param name="logger">Logs its deaths, restarts and stop.</param>
internal sealed partial class ProcessSupervisor<TProcess>(
    string name,
    Func<CancellationToken, Task<TProcess>> start,
    RestartPauses pauses,
    Action? restarted,
    ILogger logger) : IAsyncDisposable
    where TProcess : class, ISupervisedProcess
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _starting = new(1, 1);
    private TaskCompletionSource<TProcess> _running = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TProcess? _process;
    private Task _watching = Task.CompletedTask;
    private volatile bool _started;
    private int _ended;
    private int _disposed;

    /// <summary>Gets whether the process runs.</summary>
    public bool IsRunning => _process is { Exited.IsCompleted: false };

    /// <summary>Gets whether a process that dies is started again: until <see cref="StopAsync"/>.</summary>
    public bool Restarts => !_stopping.IsCancellationRequested;

    /// <summary>
    /// Starts the process, unless it was started already, and watches it from then on; callers at the same time wait
    /// for the one start. A failure leaves it not started, for a later call to try again.
    /// </summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the process runs.</returns>
    /// <exception cref="ObjectDisposedException">The supervisor was ended meanwhile; the process it started is ended.
    /// </exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _ended) == 1, this);
            if (!_started)
            {
                using var stopping = CancellationTokenSource.CreateLinkedTokenSource(
                    cancellationToken, _stopping.Token);
                _process = await start(stopping.Token).ConfigureAwait(false);

                // Ended meanwhile: EndAsync or this start ends the process, whichever takes it.
                if (Volatile.Read(ref _ended) == 1)
                {
                    if (Interlocked.Exchange(ref _process, null) is { } orphan)
                    {
                        await orphan.DisposeAsync().ConfigureAwait(false);
                    }

                    throw new ObjectDisposedException(GetType().Name);
                }

                _running.TrySetResult(_process);
                _watching = WatchAsync(_stopping.Token);
                _started = true;
            }
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>Waits until the process runs: at once while it does, else until it has been started again.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The running process.</returns>
    public Task<TProcess> WhenRunningAsync(CancellationToken cancellationToken) =>
        _running.Task.WaitAsync(cancellationToken);

    /// <summary>Stops watching: a process that dies from now on is not started again. It goes on running.</summary>
    /// <returns>A task that completes when the watch has stopped.</returns>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watching.ConfigureAwait(false);
    }

    /// <summary>Stops watching and ends the process (once; later calls do nothing).</summary>
    /// <returns>A task that completes when the process has ended.</returns>
    public async Task EndAsync()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            var processId = process.ProcessId;
            await process.DisposeAsync().ConfigureAwait(false);
            Log.Stopped(logger, name, processId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await EndAsync().ConfigureAwait(false);

        // A start under way finishes first (cancelled; it ends what it started).
        await _starting.WaitAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _starting.Dispose();
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        var pause = pauses.First;
        try
        {
            while (true)
            {
                var started = TimeProvider.System.GetTimestamp();
                var process = _process!;
                await process.Exited.WaitAsync(stopping).ConfigureAwait(false);
                Log.Died(logger, name, process.ProcessId, process.ExitReport);
                _running = new TaskCompletionSource<TProcess>(TaskCreationOptions.RunContinuationsAsynchronously);
                _process = null;
                await process.DisposeAsync().ConfigureAwait(false);
                pause = TimeProvider.System.GetElapsedTime(started) > pauses.HealthyRun ? pauses.First : pause;
                while (_process is null)
                {
                    Log.Restarting(logger, name, pause.TotalSeconds);
                    await Task.Delay(pause, stopping).ConfigureAwait(false);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, pauses.Longest.Ticks));
                    try
                    {
                        _process = await start(stopping).ConfigureAwait(false);
                        restarted?.Invoke();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Log.StartFailed(logger, name, e.Message);
                    }
                }

                _running.TrySetResult(_process);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host stops; EndAsync ends the process.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{Name} (process {ProcessId}) exited: {Report}")]
        public static partial void Died(ILogger logger, string name, int processId, string report);

        [LoggerMessage(2, LogLevel.Information, "Restarting {Name} in {Seconds} s")]
        public static partial void Restarting(ILogger logger, string name, double seconds);

        [LoggerMessage(3, LogLevel.Error, "{Name} could not be started: {Problem}")]
        public static partial void StartFailed(ILogger logger, string name, string problem);

        [LoggerMessage(4, LogLevel.Information, "{Name} (process {ProcessId}) stopped")]
        public static partial void Stopped(ILogger logger, string name, int processId);
    }
}
