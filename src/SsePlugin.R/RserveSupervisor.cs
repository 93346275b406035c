using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Observability;

namespace SsePlugin.R;

/// <summary>
/// Knows the Rserves R sessions are opened on (<see cref="Addresses"/>), connects to them and keeps track of which can
/// be used; checks them at start and for health checks. With <see cref="ROptions.Start"/>, also runs Rserve for the
/// host: started on loopback with the host, restarted with growing pauses whenever it dies, stopped with the host.
/// Rserve runs the init script before it serves, so each connection's R process, forked from it, starts prepared. On
/// Linux R has the memory and process limits and, for a host running as root, is isolated: each R process under an id
/// of its own (<see cref="Ids"/>); where that cannot be, R runs under <see cref="ROptions.Account"/> and the host warns
/// once at start.
/// </summary>
internal sealed partial class RserveSupervisor(
    IOptions<ROptions> options, IServiceProvider services, ILogger<RserveSupervisor> logger)
    : IHostedService, IAsyncDisposable
{
    private static readonly RestartPauses Pauses =
        new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));

    private readonly ROptions _options = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RserveAddress[] _addresses =
        [.. options.Value.Endpoints.Select(endpoint => new RserveAddress(endpoint.Host, endpoint.Port))];
    private ProcessSupervisor<SupervisedRserve>? _rserve;
    private Task _watching = Task.CompletedTask;
    private int _disposed;
    private int _comebacks;

    /// <summary>
    /// Gets the block of ids R processes run under, each session's under one of its own, when R calls are isolated;
    /// null when they share an account (or Rserve is not the host's).
    /// </summary>
    public IsolationIdBlock? Ids { get; private set; }

    /// <summary>
    /// Gets the Unix domain socket the host's Rserve listens on, which only the host can reach (the last one while
    /// Rserve restarts); null on Windows, where it listens on the port of its address, or before it started.
    /// </summary>
    public string? SocketPath { get; private set; }

    /// <summary>
    /// Gets the Rserves R sessions are opened on: those of <see cref="ROptions.Addresses"/> (or the one of
    /// <see cref="ROptions.Address"/>), or the one the host runs.
    /// </summary>
    public IReadOnlyList<RserveAddress> Addresses => _addresses;

    /// <summary>Gets how often an Rserve that could not be used could be again.</summary>
    public int Comebacks => Volatile.Read(ref _comebacks);

    /// <summary>Gets whether the host runs Rserve itself (<see cref="ROptions.Start"/>).</summary>
    public bool IsHostRun => _options.Start;

    /// <summary>Gets whether the Rserve the host runs is running (false when it runs none).</summary>
    public bool IsRunning => _rserve?.IsRunning ?? false;

    /// <summary>
    /// Starts Rserve, when the host runs it: a failure here stops the host, since R was asked for and cannot run.
    /// Otherwise checks each Rserve in the background, so that one that cannot be reached is named at start (a warning:
    /// the host serves on the others), and then those that cannot every few seconds, so that one that answers again is
    /// used again at once.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Start)
        {
            // Resolved now, not at construction: the connections' engines need this supervisor. A host whose
            // connections run no R watches no Rserve.
            if (services.GetRequiredService<ConnectionRegistry>().AnyRuns(SseHealthTags.R))
            {
                _watching = WatchAddressesAsync(_stopping.Token);
            }

            return;
        }

        await IsolateAsync(cancellationToken).ConfigureAwait(false);
        _rserve = new ProcessSupervisor<SupervisedRserve>(
            "Rserve", StartRserveAsync, Pauses, () => SseMeter.RserveRestarts.Add(1), logger);
        await _rserve.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops checking Rserves, and stops the one the host runs.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watching.ConfigureAwait(false);
        if (_rserve is not null)
        {
            await _rserve.EndAsync().ConfigureAwait(false);
        }
    }

    // Called twice: the container disposes the service and the hosted service, one object.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        if (_rserve is not null)
        {
            await _rserve.DisposeAsync().ConfigureAwait(false);
        }

        Ids?.Dispose();
    }

    /// <summary>
    /// Opens a connection to an Rserve (the host's own by its socket, where it has one) and marks it up; marks it down
    /// when that fails.
    /// </summary>
    /// <param name="address">One of <see cref="Addresses"/>.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="RserveException">The Rserve cannot be used (it is marked down).</exception>
    public async Task<RserveConnection> ConnectAsync(RserveAddress address, CancellationToken cancellationToken)
    {
        // The host's own Rserve listens on a socket only the host can reach (not on Windows: its port then).
        var socket = _options.Start ? SocketPath : null;
        RserveConnection connection;
        try
        {
            connection = await RserveConnection.ConnectAsync(
                new RserveConnectionOptions
                {
                    Host = address.Host,
                    Port = address.Port,
                    SocketPath = socket,
                    User = _options.User,
                    Password = _options.Password,
                    ConnectTimeout = TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds),
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RserveException e)
        {
            // The host's own Rserve: what happens to it is logged as it happens (it exited, it is restarted).
            if (address.MarkDown(e.Message) && !_options.Start)
            {
                Log.Unreachable(logger, address.Name, e.Message);
            }

            throw;
        }

        if (address.MarkUp())
        {
            Interlocked.Increment(ref _comebacks);
            if (!_options.Start)
            {
                Log.Back(logger, address.Name);
            }
        }

        return connection;
    }

    /// <summary>
    /// Checks whether an Rserve can be used by opening a connection and closing it at once (Rserve forks an R process
    /// for it, which ends with it; no R code runs), within <see cref="ROptions.ConnectTimeoutSeconds"/>, and marks it
    /// up or down. Checks asked for while one runs share its connection. An Rserve on Windows serves one connection at
    /// a time, and the pool keeps its session there: one that can be used is not checked, and stays so.
    /// </summary>
    /// <param name="address">One of <see cref="Addresses"/>.</param>
    /// <returns>A task that completes when the check has.</returns>
    public Task CheckAsync(RserveAddress address) =>
        address.Problem is null && _options.RserveOS is { } os && !RservePlatform.Forks(os)
            ? Task.CompletedTask
            : address.CheckAsync(CheckOnceAsync);

    private async Task CheckOnceAsync(RserveAddress address)
    {
        try
        {
            var connection = await ConnectAsync(address, _stopping.Token).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RserveException or OperationCanceledException)
        {
            // Marked down, and logged if it was up.
        }
    }

    // Takes a block of ids for R calls when they may be isolated and the machine lets them be; else warns that they
    // share an account, saying why.
    private async Task IsolateAsync(CancellationToken cancellationToken)
    {
        (Ids, var problem) = await IsolationIdBlock
            .TakeUsableAsync(
                _options.IsolationIdBase, _options.RunAs == "root", ROptions.Section, "R", cancellationToken)
            .ConfigureAwait(false);
        if (Ids is null && !OperatingSystem.IsWindows())
        {
            Log.NotIsolated(logger, _options.Account ?? Environment.UserName, problem!);
        }
    }

    // Checks every Rserve, then every few seconds those that cannot be used: the pool opens no session on those, and a
    // pool whose sessions are reused (ReuseSessions) may open none at all.
    private async Task WatchAddressesAsync(CancellationToken stopping)
    {
        await Task.WhenAll(_addresses.Select(CheckAsync)).ConfigureAwait(false);
        using var timer = new PeriodicTimer(RserveAddress.RetryPause);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await Task.WhenAll(_addresses.Where(address => address.Problem is not null).Select(CheckAsync))
                    .ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host stops.
        }
    }

    private async Task<SupervisedRserve> StartRserveAsync(CancellationToken cancellationToken)
    {
        var process = await RserveProcess.StartAsync(
            new RserveProcessOptions
            {
                RscriptPath = _options.RscriptPath,
                Port = _addresses[0].Port,
                UnixSocket = !OperatingSystem.IsWindows(),
                StartupScript = RSession.Preparation(_options.InitScript),
                Account = Ids is null ? _options.Account : null,
                IsolationIdBase = Ids?.First,
                MemoryLimitBytes = _options.MemoryLimitMegabytes > 0 && OperatingSystem.IsLinux()
                    ? _options.MemoryLimitMegabytes * 1024L * 1024
                    : null,
                ProcessLimit = _options.ProcessLimit > 0 && OperatingSystem.IsLinux() ? _options.ProcessLimit : null,
            },
            cancellationToken).ConfigureAwait(false);
        SocketPath = process.SocketPath;
        Log.Started(
            logger,
            process.ProcessId,
            process.Endpoint,
            Ids is { } ids
                ? string.Create(
                    CultureInfo.InvariantCulture,
                    $"ids {ids.First + 1} to {ids.First + RserveProcess.IsolationIds - 1}, one per call")
                : _options.Account ?? Environment.UserName);
        return new SupervisedRserve(process);
    }

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Information,
            "Rserve started (process {ProcessId}) at {Endpoint}, R running as {Account}")]
        public static partial void Started(ILogger logger, int processId, string endpoint, string account);

        [LoggerMessage(
            6,
            LogLevel.Warning,
            "R calls are not isolated from each other ({Problem}): all run as {Account}, so a script can read another "
            + "call's data (/proc/PID/mem, environ), signal its R process or Rserve, and leave processes that outlive "
            + "its call")]
        public static partial void NotIsolated(ILogger logger, string account, string problem);

        [LoggerMessage(
            7,
            LogLevel.Warning,
            "Rserve at {Address} cannot be used: {Problem} It is tried again every few seconds; meanwhile R sessions "
            + "go to the other Rserves of SsePlugin:Rserve:Addresses, if there are any")]
        public static partial void Unreachable(ILogger logger, string address, string problem);

        [LoggerMessage(8, LogLevel.Information, "Rserve at {Address} can be used again")]
        public static partial void Back(ILogger logger, string address);
    }

    // Rserve as its supervisor sees it: what it wrote is its exit report.
    private sealed class SupervisedRserve(RserveProcess process) : ISupervisedProcess
    {
        public int ProcessId => process.ProcessId;

        public Task Exited => process.Exited;

        public string ExitReport => process.Output.Trim();

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
