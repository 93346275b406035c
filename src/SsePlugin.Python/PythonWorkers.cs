using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Python;

/// <summary>
/// The Python worker the host runs and supervises. On Linux and macOS: one Python process that imports numpy and pandas
/// once, listens on a Unix socket in a folder of its own, and forks a fresh child for each call, which runs that call
/// alone and ends; a worker that dies is started again. On Windows, which cannot fork: a Python process per call,
/// started ahead so that a call finds one with numpy and pandas imported.
/// </summary>
internal sealed partial class PythonWorkers : IHostedService, IAsyncDisposable
{
    private const string SocketName = "worker.sock";
    private const string SetSid = "/usr/bin/setsid";

    // A Unix socket's path holds at most 107 bytes on Linux (sun_path).
    private const int SocketPathLimit = 107;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly RestartPauses Pauses =
        new(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    private readonly PythonOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger<PythonWorkers> _logger;
    private readonly ProcessSupervisor<WorkerProcess> _worker;
    private readonly SemaphoreSlim _starting = new(1, 1);
    private DirectoryInfo? _folder;
    private Process? _spare;
    private int _disposed;

    /// <summary>Makes the workers; they start with the host, or with the first Python call.</summary>
    /// <param name="options">How to run Python.</param>
    /// <param name="services">The host's services (its connections).</param>
    /// <param name="logger">Logs the worker's start, death and account.</param>
    public PythonWorkers(IOptions<PythonOptions> options, IServiceProvider services, ILogger<PythonWorkers> logger)
    {
        _options = options.Value;
        _services = services;
        _logger = logger;
        _worker = new ProcessSupervisor<WorkerProcess>("The Python worker", StartServerAsync, Pauses, null, logger);
    }

    /// <summary>Gets whether the worker can take calls: it runs (Linux, macOS), or Python starts (Windows).</summary>
    public bool IsRunning => OperatingSystem.IsWindows() ? _spare is not null : _worker.IsRunning;

    /// <summary>Gets the versions the worker reported: Python's, numpy's and pandas' (null when not installed).
    /// </summary>
    public (string Python, string? Numpy, string? Pandas) Versions { get; private set; }

    /// <summary>
    /// Gets the block of ids Python calls run under, each under one of its own, when calls are isolated; null when they
    /// share an account.
    /// </summary>
    public IsolationIdBlock? Ids { get; private set; }

    /// <summary>
    /// Starts the worker when some connection runs Python: a failure here stops the host, since Python was asked for
    /// and cannot run. Otherwise the first Python call starts it (a functions file's function naming Python).
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) =>
        _services.GetRequiredService<ConnectionRegistry>().AnyRuns(SseHealthTags.Python)
            ? EnsureStartedAsync(cancellationToken)
            : Task.CompletedTask;

    private async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            await _worker.StartAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_spare is null)
            {
                await PrepareAsync(cancellationToken).ConfigureAwait(false);
                _spare = StartOnce();
            }
        }
        finally
        {
            _starting.Release();
        }
    }

    // Once, before the first worker: its folder with worker.py, and on Linux as root a block of ids for the calls.
    private async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (_folder is not null)
        {
            return;
        }

        var folder = Directory.CreateTempSubdirectory("sseplugin-python-");
        try
        {
            var resource = typeof(PythonWorkers).Assembly.GetManifestResourceStream("SsePlugin.Python.worker.py")!;
            await using (resource.ConfigureAwait(false))
            {
                var file = File.Create(Path.Combine(folder.FullName, "worker.py"));
                await using (file.ConfigureAwait(false))
                {
                    await resource.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                }
            }

            if (OperatingSystem.IsWindows())
            {
                _folder = folder;
                return;
            }

            if (Encoding.UTF8.GetByteCount(Path.Combine(folder.FullName, SocketName)) > SocketPathLimit)
            {
                throw new PythonWorkerException(
                    $"The Python worker's socket path '{Path.Combine(folder.FullName, SocketName)}' is longer than "
                    + $"{SocketPathLimit} bytes; set TMPDIR to a shorter folder.");
            }

            await IsolateAsync(cancellationToken).ConfigureAwait(false);
            _folder = folder;
        }
        catch
        {
            // A later start makes another.
            folder.Delete(recursive: true);
            throw;
        }
    }

    // Takes a block of ids for Python calls when they may be isolated and the machine lets them be, and ends what calls
    // of an earlier run of this block's host left; else warns that they share an account, saying why.
    private async Task IsolateAsync(CancellationToken cancellationToken)
    {
        (Ids, var problem) = await IsolationIdBlock
            .TakeUsableAsync(
                _options.IsolationIdBase, _options.RunAs == "root", PythonOptions.Section, "Python", cancellationToken)
            .ConfigureAwait(false);
        if (Ids is not null)
        {
            RserveProcess.KillProcessesOf(Ids.First, RserveProcess.IsolationIds);
        }
        else if (_options.Account is null && !Environment.IsPrivilegedProcess)
        {
            Log.HostAccount(_logger, Environment.UserName);
        }
        else
        {
            Log.NotIsolated(_logger, _options.Account ?? Environment.UserName, problem!);
        }
    }

    /// <summary>Stops restarting the worker; it goes on serving the calls of a draining host until disposed.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _worker.StopAsync();

    // Called twice: the container disposes the service and the hosted service, one object.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _worker.DisposeAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _spare, null) is { } spare)
        {
            await EndAsync(spare).ConfigureAwait(false);
        }

        if (Ids is not null)
        {
            // What calls left in sessions of their own.
            RserveProcess.KillProcessesOf(Ids.First, RserveProcess.IsolationIds);
            Ids.Dispose();
        }

        _starting.Dispose();
        try
        {
            _folder?.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Left in the temporary folder; nothing reads it.
        }
    }

    /// <summary>
    /// Gives a call a Python process of its own: a child the worker forks for it (waiting for a worker being
    /// started again), or on Windows the process started ahead.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The call's process, ended when disposed.</returns>
    /// <exception cref="IOException">The worker could not be reached.</exception>
    /// <exception cref="PythonWorkerException">The worker, not started before, cannot be started.</exception>
    public async Task<PythonProcess> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        if (OperatingSystem.IsWindows())
        {
            var process = Interlocked.Exchange(ref _spare, StartOnce()) is { HasExited: false } spare
                ? spare
                : StartOnce();
            return await PythonProcess.StartedAsync(
                process.StandardInput.BaseStream,
                process.StandardOutput.BaseStream,
                () => KillTree(process),
                null,
                cancellationToken).ConfigureAwait(false);
        }

        var user = HoldUser();
        try
        {
            while (true)
            {
                var worker = await _worker.WhenRunningAsync(cancellationToken).ConfigureAwait(false);
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken)
                        .ConfigureAwait(false);
                }
                catch (SocketException) when (worker.Exited.IsCompleted)
                {
                    // The worker died meanwhile: wait for the next, which the supervisor starts once it has seen the
                    // exit, unless the host stops.
                    socket.Dispose();
                    if (!_worker.Restarts)
                    {
                        throw new PythonWorkerException(
                            "The Python worker has ended and is not started again: the host is stopping.");
                    }

                    await Task.Delay(RetryPause, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                var stream = new NetworkStream(socket, ownsSocket: true);
                return await PythonProcess.StartedAsync(stream, stream, null, user, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        catch when (user is var (ids, id))
        {
            // No process has the id yet: a call's process takes it when it has read the call.
            ids.Release(id);
            throw;
        }
    }

    // A user id of its own for a call, when calls are isolated.
    private (IsolationIdBlock Ids, uint User)? HoldUser() =>
        Ids is not { } ids ? null
        : ids.HoldFree() is { } user ? (ids, user)
        : throw new PythonWorkerException(
            $"Every one of the {RserveProcess.IsolationIds - 1} user ids of Python calls is held; retry later.");

    private string SocketPath => Path.Combine(_folder!.FullName, SocketName);

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has ended.
        }
    }

    private static async Task EndAsync(Process process)
    {
        try
        {
            // The worker ends its calls' processes and itself when its input closes; killed if it does not at once.
            process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            KillTree(process);
        }
        finally
        {
            process.Dispose();
        }
    }

    // The Python program: isolated, as root of a user namespace of its ids (which GiveIdsAsync maps once it runs), in
    // a session of its own; else under the configured account. Numeric libraries' threads limited to one per call; none
    // of the host's environment but what programs need (RserveProcess.KeepPlainEnvironment).
    private ProcessStartInfo StartInfo(params string[] arguments)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _folder!.FullName,
        };
        RserveProcess.KeepPlainEnvironment(start);
        if (Ids is { } ids)
        {
            start.FileName = SetSid;
            UserNamespace.AddLauncher(start.ArgumentList);
            start.ArgumentList.Add(_options.Executable);
            start.Environment["HOME"] = _folder.FullName;
            GiveFolder(ids.First, ids.First, $"the ids of Python calls ({PythonOptions.Section}:IsolationIdBase)");
        }
        else if (_options.Account is { } account)
        {
            var (user, group) = AccountIds(account);
            start.FileName = "setpriv";
            foreach (var argument in (ReadOnlySpan<string>)[
                $"--reuid={user}", $"--regid={group}", "--clear-groups", "--no-new-privs", _options.Executable])
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["HOME"] = _folder.FullName;
            start.Environment["USER"] = account;
            start.Environment["LOGNAME"] = account;
            GiveFolder(user, group, $"'{account}' ({PythonOptions.Section}:RunAs)");
        }
        else
        {
            start.FileName = _options.Executable;
        }

        start.ArgumentList.Add("-B");
        start.ArgumentList.Add(Path.Combine(_folder.FullName, "worker.py"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in (ReadOnlySpan<string>)["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"])
        {
            start.Environment[variable] = "1";
        }

        start.Environment["PYTHONIOENCODING"] = "utf-8";
        return start;
    }

    // The worker's account owns its folder until it listens (HandOver).
    private void GiveFolder(uint user, uint group, string whose)
    {
        if (Chown(Encoding.UTF8.GetBytes(_folder!.FullName + "\0"), user, group) != 0)
        {
            throw new PythonWorkerException(
                $"The Python worker's folder {_folder.FullName} cannot be given to {whose}: error "
                + $"{Marshal.GetLastPInvokeError()}.");
        }
    }

    private static Process Start(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start) ?? throw new PythonWorkerException($"Cannot start '{start.FileName}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PythonWorkerException(
                $"Cannot start '{start.FileName}': {e.Message}. Install Python 3 (apt install python3 python3-numpy "
                + $"python3-pandas), or set {PythonOptions.Section}:Executable to its path.");
        }
    }

    private Process StartOnce() => Start(StartInfo("once"));

    // Starts the worker and waits until it listens; the supervisor starts it again whenever it dies.
    private async Task<WorkerProcess> StartServerAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        if (Find(_options.Executable) is null)
        {
            throw new PythonWorkerException(
                $"Cannot start '{_options.Executable}': no such program. Install Python 3 (apt install python3 "
                + $"python3-numpy python3-pandas), or set {PythonOptions.Section}:Executable to its path.");
        }

        // A new worker binds its socket where the one that died did.
        File.Delete(SocketPath);
        var process = Start(StartInfo(
            "serve", SocketPath, (_options.TempLimitMegabytes * 1024L * 1024).ToString(CultureInfo.InvariantCulture)));
        var errors = new StringBuilder();
        var stderr = KeepTailAsync(process.StandardError, errors);
        try
        {
            if (Ids is not null
                && await UserNamespace.GiveIdsAsync(process, Ids.First, StartTimeout, cancellationToken)
                    .ConfigureAwait(false) is { } problem)
            {
                throw new PythonWorkerException($"The Python worker cannot be isolated: {problem}");
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(StartTimeout);
            var line = await process.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false);
            if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
            {
                await stderr.ConfigureAwait(false);
                throw new PythonWorkerException(
                    $"The Python worker ('{_options.Executable}') ended at start: {Tail(errors, line)} Check that it "
                    + $"is Python 3.8 or later ({PythonOptions.Section}:Executable).");
            }

            using (var versions = JsonDocument.Parse(line.AsMemory(6).ToString()))
            {
                var root = versions.RootElement;
                Versions = (
                    root.GetProperty("python").GetString() ?? "?",
                    root.GetProperty("numpy").GetString(),
                    root.GetProperty("pandas").GetString());
            }

            if ((Ids is not null || _options.Account is not null) && !OperatingSystem.IsWindows())
            {
                // The worker's ids can no longer reach the socket: a script cannot get processes past the host.
                HandOver(_folder!.FullName);
            }

            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
            Log.Started(
                _logger,
                Versions.Python,
                process.Id,
                Versions.Numpy ?? "not installed",
                Versions.Pandas ?? "not installed",
                Ids is { } ids
                    ? string.Create(
                        CultureInfo.InvariantCulture,
                        $"ids {ids.First + 1} to {ids.First + RserveProcess.IsolationIds - 1}, one per call")
                    : _options.Account ?? Environment.UserName,
                _options.Workers);
            foreach (var (package, version) in (ReadOnlySpan<(string, string?)>)[
                ("numpy", Versions.Numpy), ("pandas", Versions.Pandas)])
            {
                if (version is null)
                {
                    Log.Missing(_logger, package, _options.Executable);
                }
            }

            return new WorkerProcess(process);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            KillTree(process);
            process.Dispose();
            throw new PythonWorkerException(
                $"The Python worker ('{_options.Executable}') did not start within {StartTimeout.TotalSeconds:0} s.");
        }
        catch
        {
            KillTree(process);
            process.Dispose();
            throw;
        }
    }

    // A program by its path, or found on the path as the system would.
    private static string? Find(string program) =>
        program.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? (File.Exists(program) ? program : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
                .Select(folder => Path.Combine(folder, program))
                .FirstOrDefault(File.Exists);

    // Root's again, mode 0700: the folder and the socket in it (the worker listens already).
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void HandOver(string folder)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(folder).Append(folder))
        {
            _ = Chown(Encoding.UTF8.GetBytes(path + "\0"), 0, 0);
        }

        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static (uint User, uint Group) AccountIds(string account)
    {
        foreach (var entry in File.ReadLines("/etc/passwd"))
        {
            var fields = entry.Split(':');
            if (fields.Length > 3 && fields[0] == account
                && uint.TryParse(fields[2], CultureInfo.InvariantCulture, out var user)
                && uint.TryParse(fields[3], CultureInfo.InvariantCulture, out var group))
            {
                return (user, group);
            }
        }

        throw new PythonWorkerException(
            $"{PythonOptions.Section}:RunAs: there is no account '{account}' in /etc/passwd; name an existing one.");
    }

    private static async Task KeepTailAsync(StreamReader reader, StringBuilder tail)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (tail)
            {
                tail.Append(buffer, 0, read);
                if (tail.Length > 4096)
                {
                    tail.Remove(0, tail.Length - 4096);
                }
            }
        }
    }

    private static string Tail(StringBuilder errors, string? output)
    {
        lock (errors)
        {
            var text = (output + "\n" + errors).Trim();
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "no output." : lines[^1];
        }
    }

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int Chown(byte[] path, uint owner, uint group);

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Information,
            "Python {Version} started (process {ProcessId}) with numpy {Numpy} and pandas {Pandas}, scripts running as "
            + "{Account}, {Workers} calls at once")]
        public static partial void Started(
            ILogger logger, string version, int processId, string numpy, string pandas, string account, int workers);

        [LoggerMessage(
            2,
            LogLevel.Warning,
            "{Package} is not installed for {Executable}: Python scripts that use it fail, naming it; install it with "
            + "apt install python3-{Package}, or pip install {Package}")]
        public static partial void Missing(ILogger logger, string package, string executable);

        [LoggerMessage(
            5,
            LogLevel.Warning,
            "Python scripts run as {Account}, the host's own account: a script can read everything the host can, its "
            + "private key included, and reach the worker's socket; run the host as root to give each call an id of "
            + "its own")]
        public static partial void HostAccount(ILogger logger, string account);

        [LoggerMessage(
            6,
            LogLevel.Warning,
            "Python calls are not isolated from each other ({Problem}): all run as {Account}, so a script can signal "
            + "another call's processes, read what it leaves in /tmp, and count against its process limit")]
        public static partial void NotIsolated(ILogger logger, string account, string problem);
    }

    // The worker as its supervisor sees it: ended by closing its input (it then ends its calls' processes and itself),
    // killed if it does not end at once.
    private sealed class WorkerProcess(Process process) : ISupervisedProcess
    {
        public int ProcessId { get; } = process.Id;

        public Task Exited { get; } = process.WaitForExitAsync();

        public string ExitReport => string.Create(CultureInfo.InvariantCulture, $"exit code {process.ExitCode}");

        public async ValueTask DisposeAsync() => await EndAsync(process).ConfigureAwait(false);
    }
}

/// <summary>Python cannot be started, or is not set up as it must be; the message says how to fix it.</summary>
/// <param name="message">What failed, and the fix.</param>
public sealed class PythonWorkerException(string message) : Exception(message);
