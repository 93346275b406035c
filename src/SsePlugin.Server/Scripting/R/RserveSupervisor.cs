using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;

namespace SsePlugin.Server.Scripting.R;

/// <summary>
/// With <see cref="ROptions.Start"/>, runs Rserve for the host: started on loopback with the host, restarted with
/// growing pauses whenever it dies, stopped with the host. Rserve runs the init script before it serves, so each
/// connection's R process, forked from it, starts prepared; on Linux R runs under <see cref="ROptions.Account"/> with
/// the memory and process limits.
/// </summary>
internal sealed partial class RserveSupervisor(IOptions<ROptions> options, ILogger<RserveSupervisor> logger) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HealthyRun = TimeSpan.FromMinutes(1);

    private readonly ROptions _options = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private RserveProcess? _process;
    private Task _watching = Task.CompletedTask;

    /// <summary>Starts Rserve; a failure here stops the host, since R was asked for and cannot run.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Start)
        {
            return;
        }

        _process = await StartRserveAsync(cancellationToken).ConfigureAwait(false);
        _watching = WatchAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watching.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        var pause = FirstPause;
        try
        {
            while (true)
            {
                var started = TimeProvider.System.GetTimestamp();
                await _process!.Exited.WaitAsync(stopping).ConfigureAwait(false);
                Log.Died(logger, _process.ProcessId, _process.Output.Trim());
                await _process.DisposeAsync().ConfigureAwait(false);
                _process = null;
                pause = TimeProvider.System.GetElapsedTime(started) > HealthyRun ? FirstPause : pause;
                while (_process is null)
                {
                    Log.Restarting(logger, pause.TotalSeconds);
                    await Task.Delay(pause, stopping).ConfigureAwait(false);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
                    try
                    {
                        _process = await StartRserveAsync(stopping).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Log.StartFailed(logger, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            if (_process is not null)
            {
                var processId = _process.ProcessId;
                await _process.DisposeAsync().ConfigureAwait(false);
                Log.Stopped(logger, processId);
            }
        }
    }

    private async Task<RserveProcess> StartRserveAsync(CancellationToken cancellationToken)
    {
        var process = await RserveProcess.StartAsync(
            new RserveProcessOptions
            {
                RscriptPath = _options.RscriptPath,
                Port = _options.Port,
                StartupScript = RSession.Preparation(_options.InitScript),
                Account = _options.Account,
                MemoryLimitBytes = _options.MemoryLimitMegabytes > 0 && OperatingSystem.IsLinux()
                    ? _options.MemoryLimitMegabytes * 1024L * 1024
                    : null,
                ProcessLimit = _options.ProcessLimit > 0 && OperatingSystem.IsLinux() ? _options.ProcessLimit : null,
            },
            cancellationToken).ConfigureAwait(false);
        Log.Started(logger, process.ProcessId, process.Port, _options.Account ?? Environment.UserName);
        return process;
    }

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Information,
            "Rserve started (process {ProcessId}) on 127.0.0.1:{Port}, R running as {Account}")]
        public static partial void Started(ILogger logger, int processId, int port, string account);

        [LoggerMessage(2, LogLevel.Warning, "Rserve (process {ProcessId}) exited: {Output}")]
        public static partial void Died(ILogger logger, int processId, string output);

        [LoggerMessage(3, LogLevel.Information, "Restarting Rserve in {Seconds} s")]
        public static partial void Restarting(ILogger logger, double seconds);

        [LoggerMessage(4, LogLevel.Error, "Rserve could not be started: {Problem}")]
        public static partial void StartFailed(ILogger logger, string problem);

        [LoggerMessage(5, LogLevel.Information, "Rserve (process {ProcessId}) stopped")]
        public static partial void Stopped(ILogger logger, int processId);
    }
}
