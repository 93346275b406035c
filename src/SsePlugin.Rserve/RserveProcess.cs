using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SsePlugin.Rserve.Protocol;

namespace SsePlugin.Rserve;

/// <summary>
/// An Rserve server run as a child process (<c>Rscript -e "Rserve::run.Rserve(...)"</c>, which stays in the foreground)
/// with a generated configuration: UTF-8, no file transfer, listening on a loopback port or a Unix domain socket that
/// only this process's account can reach; on Linux optionally under another account,
/// or isolated (each connection's R process under an id of its own), and with limits. Disposing it kills the server and
/// its per-connection R processes.
/// </summary>
public sealed class RserveProcess : IAsyncDisposable
{
    /// <summary>The number of user and group ids from <see cref="RserveProcessOptions.IsolationIdBase"/> on that an
    /// isolated Rserve uses: its user namespace's ids 0 (the server) to 65535.</summary>
    public const uint IsolationIds = 65536;

    // The output kept for error messages: its last characters.
    private const int OutputKept = 16 * 1024;
    private const string SetSid = "/usr/bin/setsid";
    internal const string SetPriv = "setpriv";
    private const string PrLimit = "prlimit";
    private const string SocketName = "Rserve.sock";

    // The longest path a Unix domain socket address holds (sun_path: 108 bytes with the closing zero).
    private const int SocketPathLimit = 107;

    // The watchdog's end when Rserve is not isolated: see Watchdog.
    private const string WatchdogGroups = "groups <- server; "
        + "for (p in list.files('/proc', '^[0-9]+$')) { "
        + "stat <- try(readLines(file.path('/proc', p, 'stat'), warn = FALSE), silent = TRUE); "
        + "parent <- strsplit(sub('^.*[)] ', '', stat[1]), ' ')[[1]][2]; "
        + "if (identical(parent, as.character(server))) groups <- c(p, groups) }; "
        + "system(paste('kill -9', paste0('-', setdiff(groups, Sys.getpid()), collapse = ' ')), "
        + "ignore.stdout = TRUE, ignore.stderr = TRUE) }, detached = TRUE) })\n";

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(50);


    private readonly Process _process;
    private readonly DirectoryInfo _folder;
    private readonly StringBuilder _output = new();
    private readonly bool _detached;
    private readonly uint? _isolationIdBase;
    private Task _outputRead = Task.CompletedTask;
    private bool _socketSecured;
    private bool _started;
    private long _startTime;
    private bool _disposed;

    private RserveProcess(
        Process process, DirectoryInfo folder, int port, string? socketPath, bool detached, uint? isolationIdBase)
    {
        _process = process;
        _folder = folder;
        _detached = detached;
        _isolationIdBase = isolationIdBase;
        Port = port;
        SocketPath = socketPath;
    }

    /// <summary>Gets the loopback port the server listens on when <see cref="SocketPath"/> is null.</summary>
    public int Port { get; }

    /// <summary>
    /// Gets the Unix domain socket the server listens on, in its folder, with
    /// <see cref="RserveProcessOptions.UnixSocket"/> (it has no TCP port then): mode 0600, owned by Rserve's id when
    /// isolated (no R process has it), else by root when this process runs as root, so that R cannot connect.
    /// </summary>
    public string? SocketPath { get; }

    /// <summary>Gets where the server listens, for messages: its socket's path, or 127.0.0.1:port.</summary>
    public string Endpoint => SocketPath ?? string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Gets the server's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets whether the server has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Gets a task that completes when the server exits (its per-connection R processes end with their connections).
    /// </summary>
    public Task Exited { get; private set; } = Task.CompletedTask;

    /// <summary>Gets the server's standard output and error so far (their last 16 K characters).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Gets new connection options that reach this server (and no login).</summary>
    /// <returns>The options, with the socket path or the port.</returns>
    public RserveConnectionOptions ConnectionOptions() => new() { SocketPath = SocketPath, Port = Port };

    /// <summary>Starts Rserve and waits until it answers on its socket (or port) with its ID string.</summary>
    /// <param name="options">The Rscript to use, the port, whether clients must log in, and how R is confined.</param>
    /// <param name="cancellationToken">Cancels waiting; the process is killed then.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="RserveException">Rscript cannot be started, or Rserve exits or does not answer in time; the
    /// message holds its output.</exception>
    public static async Task<RserveProcess> StartAsync(
        RserveProcessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UnixSocket && OperatingSystem.IsWindows())
        {
            throw new RserveException("Rserve listens on a Unix domain socket only on Linux and macOS; use a port.");
        }

        if (!options.UnixSocket)
        {
            CheckPortFree(options.Port);
        }

        if (!OperatingSystem.IsWindows() && Executable(options.RscriptPath) is null)
        {
            throw new RserveException(
                $"Cannot start '{options.RscriptPath}': no such program. "
                + "Install R with the Rserve package, or set the Rscript path.");
        }

        var folder = Directory.CreateTempSubdirectory("sseplugin-rserve-");
        var config = Path.Combine(folder.FullName, "Rserv.conf");
        var startup = Path.Combine(folder.FullName, "start.R");
        var socket = options.UnixSocket ? Path.Combine(folder.FullName, SocketName) : null;
        if (socket is not null && Encoding.UTF8.GetByteCount(socket) > SocketPathLimit)
        {
            DeleteFolder(folder);
            throw new RserveException(
                $"Rserve's socket path '{socket}' is longer than {SocketPathLimit} bytes; "
                + "set TMPDIR to a shorter folder.");
        }

        // In a session of its own, Rserve does not get the Ctrl+C a terminal sends the host's process group, so
        // running R calls can finish while the host stops; the host stops Rserve itself afterwards. setsid, setpriv
        // and prlimit each exec the next program, so Rscript (and R) keeps the process id the host started.
        var detached = !OperatingSystem.IsWindows() && File.Exists(SetSid);
        var start = new ProcessStartInfo(detached ? SetSid : options.RscriptPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        KeepPlainEnvironment(start);
        start.Environment["TMPDIR"] = folder.FullName;
        var isolation = options.IsolationIdBase;
        var server = new RserveProcess(
            new Process { StartInfo = start }, folder, options.Port, socket, detached, isolation);
        try
        {
            if (detached)
            {
                await ConfineAsync(start, options, folder.FullName, cancellationToken).ConfigureAwait(false);
                start.ArgumentList.Add(options.RscriptPath);
            }
            else if (options.Account is not null || isolation is not null || options.MemoryLimitBytes is not null
                || options.ProcessLimit is not null)
            {
                throw new RserveException(
                    "Running R under another account or with limits needs Linux with setsid, setpriv and prlimit "
                    + "(util-linux): install util-linux, or set SsePlugin:Rserve:RunAs to this account and "
                    + "MemoryLimitMegabytes and ProcessLimit to 0.");
            }

            await File.WriteAllTextAsync(config, Configuration(options, socket), cancellationToken)
                .ConfigureAwait(false);
            await File.WriteAllTextAsync(
                startup,
                (detached ? Watchdog(folder.FullName, socket, isolation is not null) : string.Empty)
                    + options.StartupScript
                    + $"\nRserve::run.Rserve(config.file = {RCode.Quote(config)})\n",
                cancellationToken).ConfigureAwait(false);
            if (isolation is { } idBase && !OperatingSystem.IsWindows())
            {
                // Rserve owns the folder, with its temporary folder, and the per-connection R processes make theirs
                // there (Rserve's tempdir() with their ids appended, 0700); they may pass through, not list it.
                await RunAsync("chown", cancellationToken, "-R", $"{idBase}:{idBase}", folder.FullName)
                    .ConfigureAwait(false);
                folder.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

                // What calls of an earlier run of this block's host left, should it have been killed outright.
                KillProcessesOf(idBase, IsolationIds);
            }
            else if (options.Account is not null)
            {
                // R's account owns the folder: R reads its configuration there and its watchdog deletes it.
                await RunAsync("chown", cancellationToken, "-R", $"{options.Account}:", folder.FullName)
                    .ConfigureAwait(false);
            }

            start.ArgumentList.Add("-e");
            start.ArgumentList.Add($"source({RCode.Quote(startup)})");

            // Not WaitForExitAsync: it also waits for the end of the output, which the per-connection R processes
            // inherit and keep open after the server itself has died.
            var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server._process.EnableRaisingEvents = true;
            server._process.Exited += (_, _) => exited.TrySetResult();
            try
            {
                server._process.Start();
            }
            catch (Win32Exception e)
            {
                throw new RserveException(
                    $"Cannot start '{options.RscriptPath}': {e.Message}. Install R with the Rserve package, or set "
                    + "the Rscript path.",
                    null,
                    e);
            }

            server._started = true;
            server._startTime = StartTime(server.ProcessId) ?? 0;

            // Raw chunks, not lines: R (and what it starts) may write without end and without a line break.
            server._outputRead = Task.WhenAll(
                server.KeepAsync(server._process.StandardOutput.BaseStream),
                server.KeepAsync(server._process.StandardError.BaseStream));
            server.Exited = exited.Task;
            if (isolation is not null
                && await UserNamespace
                    .GiveIdsAsync(server._process, isolation.Value, options.StartTimeout, cancellationToken)
                    .ConfigureAwait(false) is { } problem)
            {
                throw new RserveException($"Rserve cannot be isolated: {problem}");
            }

            await server.WaitUntilAnsweringAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Gets when a process started, in clock ticks after boot (Linux: field 22 of /proc/PID/stat), which tells it from
    /// a later process given the same id; null when it has ended, or on other systems.
    /// </summary>
    /// <param name="processId">The process's id.</param>
    /// <returns>Its start time, or null.</returns>
    public static long? StartTime(int processId) => Stat(processId) is { } fields
        ? long.Parse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture)
        : null;

    /// <summary>Gets whether a process leads a process group (Linux: field 5 of /proc/PID/stat is its id).</summary>
    /// <param name="processId">The process's id.</param>
    /// <returns>True if it runs and leads its group.</returns>
    public static bool LeadsProcessGroup(int processId) =>
        Stat(processId) is { Length: > 2 } fields && fields[2] == processId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Ends a process group at once (SIGKILL): the process that leads it and every process started in it that stayed
    /// there, whether or not their parents still run. Does nothing on Windows, or when a process of another start
    /// time now has the leader's id (the group is gone then: Linux gives no process the id of a group in use).
    /// </summary>
    /// <param name="processGroupId">The group's id: the process id of its leader.</param>
    /// <param name="leaderStartTime">The leader's <see cref="StartTime"/>, read when it was known to lead the group.
    /// </param>
    public static void KillProcessGroup(int processGroupId, long leaderStartTime)
    {
        if (OperatingSystem.IsWindows() || processGroupId <= 1)
        {
            return;
        }

        var started = StartTime(processGroupId);
        if (started is null || started == leaderStartTime)
        {
            _ = NativeMethods.Kill(-processGroupId, NativeMethods.SigKill);
        }
    }

    /// <summary>
    /// Finds out whether Rserve can be isolated here (<see cref="RserveProcessOptions.IsolationIdBase"/>): Linux, this
    /// process running as root, util-linux's unshare and setpriv, and a kernel (and container) that lets it make a user
    /// namespace and map these ids into it. Tries that with a process that then ends.
    /// </summary>
    /// <param name="idBase">The first of the <see cref="IsolationIds"/> ids.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>Null when Rserve can be isolated, else what is missing.</returns>
    public static async Task<string?> IsolationProblemAsync(uint idBase, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess || !File.Exists(SetSid))
        {
            return "only a host running as root on Linux (with util-linux) can give R calls ids of their own";
        }

        var start = new ProcessStartInfo(SetSid)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            UserNamespace.AddLauncher(start.ArgumentList);
        }
        catch (RserveException e)
        {
            return e.Message;
        }

        start.ArgumentList.Add("true");
        using var process = Process.Start(start) ?? throw new RserveException("Cannot start 'unshare'.");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            var problem = await UserNamespace
                .GiveIdsAsync(process, idBase, TimeSpan.FromSeconds(10), cancellationToken)
                .ConfigureAwait(false);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            var message = (await error.ConfigureAwait(false)).Trim();
            return problem is null && process.ExitCode == 0 ? null
                : message.Length > 0 ? $"{problem ?? "unshare failed"}: {message}"
                : problem ?? $"unshare failed (exit code {process.ExitCode})";
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>
    /// Gets a running process's real user id as this process's user namespace sees it (Linux: the Uid line of
    /// /proc/PID/status); null when it has ended, is left a zombie, or on other systems.
    /// </summary>
    /// <param name="processId">The process's id.</param>
    /// <returns>Its user id, or null.</returns>
    public static uint? UserId(int processId)
    {
        Span<byte> status = stackalloc byte[1024];
        try
        {
            using var file = File.OpenHandle(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/status"));
            status = status[..RandomAccess.Read(file, status, 0)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var state = status.IndexOf("\nState:\t"u8);
        var uid = status.IndexOf("\nUid:\t"u8);
        if (state < 0 || uid < 0 || status[state + 8] is (byte)'Z' or (byte)'X')
        {
            return null;
        }

        var digits = status[(uid + 6)..];
        var end = digits.IndexOf((byte)'\t');
        var number = digits[..(end < 0 ? digits.Length : end)];
        return uint.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    /// <summary>
    /// Ends every process of a user id and deletes that id's folder with everything in it. A shell started under the
    /// id (setpriv, without capabilities) signals every process it may, which are that id's alone (<c>kill -9 -1</c>:
    /// at once, no process forks past it; also those in sessions of their own), then deletes what is in the folder
    /// with no more rights than the id's: a process that swaps a folder inside for a link meanwhile cannot turn the
    /// deletion onto files of others, as it could a deletion by root. Then the empty folder goes. Linux, as root.
    /// </summary>
    /// <param name="userId">The user id, also taken as the group id.</param>
    /// <param name="folder">The folder, in a folder that id may not change.</param>
    /// <exception cref="RserveException">Something in the folder could not be deleted.</exception>
    /// <exception cref="IOException">The folder could not be deleted.</exception>
    public static async Task EndUserAsync(uint userId, string folder)
    {
        var id = userId.ToString(CultureInfo.InvariantCulture);
        await RunAsync(
            Executable(SetPriv) ?? SetPriv,
            CancellationToken.None,
            $"--reuid={id}",
            $"--regid={id}",
            "--clear-groups",
            "--",
            "/bin/sh",
            "-c",
            "kill -9 -1 2>/dev/null; find \"$1\" -mindepth 1 -delete",
            "sh",
            folder).ConfigureAwait(false);
        Directory.Delete(folder);
    }

    /// <summary>
    /// Ends at once (SIGKILL) every process whose real user id is one of <paramref name="count"/> ids from
    /// <paramref name="firstId"/> on, looking through every process again until it finds no new one (a process may
    /// start others meanwhile; one that has received SIGKILL starts none). Linux, as root; does nothing elsewhere.
    /// </summary>
    /// <param name="firstId">The first user id.</param>
    /// <param name="count">How many ids.</param>
    public static void KillProcessesOf(uint firstId, uint count)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var signalled = new HashSet<int>();
        while (KillPass(firstId, count, signalled) > 0)
        {
        }
    }

    /// <summary>
    /// Looks once through every process and ends at once (SIGKILL) each live one whose real user id is
    /// <paramref name="userId"/> (Linux, as root).
    /// </summary>
    /// <param name="userId">The user id.</param>
    /// <returns>How many it found: 0 when that id has no process left.</returns>
    internal static int KillProcessesOf(uint userId) => KillPass(userId, 1, null);

    // One look through every process: SIGKILL to each live one of the ids; returns how many it found, leaving out those
    // signalled holds (which it adds to).
    private static int KillPass(uint firstId, uint count, HashSet<int>? signalled)
    {
        var found = 0;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            // Linux hands out process ids in turn: that of a process ending between the reading of its user id
            // and the kill is not given to another process meanwhile.
            var name = Path.GetFileName(entry.AsSpan());
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && UserId(pid) is { } id && id >= firstId && id - firstId < count && (signalled?.Add(pid) ?? true))
            {
                _ = NativeMethods.Kill(pid, NativeMethods.SigKill);
                found++;
            }
        }

        return found;
    }

    /// <summary>Finds a free TCP port on 127.0.0.1 by binding port 0.</summary>
    /// <returns>A port that was free a moment ago.</returns>
    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Kills the server with all its R processes, and on Linux every process they started that stayed in the server's
    /// process group or in that of a per-connection R process leading one of its own; waits for the server to exit, and
    /// deletes its folder.
    /// </summary>
    /// <returns>A task that completes when the server is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_started)
        {
            if (_detached)
            {
                // Also when the server has died: its watchdog, and what its R processes started, may still run.
                foreach (var (child, started) in Children(ProcessId))
                {
                    KillProcessGroup(child, started);
                }

                KillProcessGroup(ProcessId, _startTime);
                if (_isolationIdBase is { } idBase)
                {
                    // Also what R processes started in sessions of their own.
                    KillProcessesOf(idBase, IsolationIds);
                }
            }
            else if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await Exited.ConfigureAwait(false);
        }

        _process.Dispose();
        DeleteFolder(_folder);
    }

    // A server already on the port would answer the readiness probe in place of the new one.
    private static void CheckPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new RserveException(
                $"Port {port} on 127.0.0.1 is in use, so Rserve cannot listen there: {e.Message}", null, e);
        }
    }

    // With a socket, Rserve listens there alone (no TCP port), and makes it 0600.
    private static string Configuration(RserveProcessOptions options, string? socket)
    {
        var lines = new List<string>
        {
            socket is null
                ? string.Create(CultureInfo.InvariantCulture, $"port {options.Port}")
                : $"socket {socket}\nsockmod 0600",
            "remote disable",
            "fileio disable",
            "interactive no",
            "encoding utf8",
        };
        if (options.IsolationIdBase is not null)
        {
            // Each connection's R process takes the next id of the namespace, ids and group ids alike, from 1 on
            // (Rserve counts connections; ids in use are the host's to skip). Not 0: that is the server's, with its
            // capabilities.
            lines.Add("random.uid enable");
            lines.Add("random.gid enable");
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"random.uid.range 1..{IsolationIds - 1}"));
        }

        if (options.PasswordFile is null)
        {
            lines.Add("auth disable");
        }
        else
        {
            lines.Add("auth required");
            lines.Add("plaintext enable");
            lines.Add($"pwdfile {Path.GetFullPath(options.PasswordFile)}");
        }

        return string.Join('\n', lines) + "\n";
    }

    // Should this process die without stopping Rserve (killed, or crashed), the standard input it gave Rserve closes: a
    // process forked from Rserve's before it starts serving reads it to its end, then deletes Rserve's folder and ends
    // the process groups of Rserve's children (per-connection R processes may lead groups of their own) and Rserve's
    // own session, its R processes included: the next start finds the port free. (The host's pipes are gone then: a
    // kill that wrote an error there would die of SIGPIPE before it had signalled every group.) Isolated, the watchdog
    // is root of Rserve's user namespace: it ends every process of it (kill -1), also those in sessions of their own,
    // then deletes the folder. (R's unlink leaves a socket, and the folder with it: file.remove deletes it.)
    private static string Watchdog(string folder, string? socket, bool isolated) =>
        "local({ server <- Sys.getpid(); parallel::mcparallel({ try(readLines(file('stdin')), silent = TRUE); "
        + (isolated
            // A shell ends every process of the namespace but itself (the watchdog too), then deletes the folder,
            // which no process of the namespace is left to fill again meanwhile.
            ? $"system(paste('kill -9 -1; rm -rf', shQuote({RCode.Quote(folder)})), "
                + "ignore.stdout = TRUE, ignore.stderr = TRUE) }, detached = TRUE) })\n"
            : (socket is null ? string.Empty : $"suppressWarnings(file.remove({RCode.Quote(socket)})); ")
                + $"unlink({RCode.Quote(folder)}, recursive = TRUE); " + WatchdogGroups);

    // Runs R isolated (unshare, then setpriv to the new namespace's root), or under options.Account (setpriv), with
    // options' limits (prlimit): placed between setsid and Rscript.
    private static async Task ConfineAsync(
        ProcessStartInfo start, RserveProcessOptions options, string folder, CancellationToken cancellationToken)
    {
        if (options.IsolationIdBase is not null)
        {
            UserNamespace.AddLauncher(start.ArgumentList);
            start.Environment["HOME"] = folder;
        }
        else if (options.Account is { } account)
        {
            var user = await RunAsync("id", cancellationToken, "-u", account).ConfigureAwait(false);
            var group = await RunAsync("id", cancellationToken, "-g", account).ConfigureAwait(false);
            start.ArgumentList.Add(Executable(SetPriv)
                ?? throw new RserveException(
                    $"'{SetPriv}' (util-linux) is needed to run R as '{account}'; install util-linux."));
            start.ArgumentList.Add($"--reuid={user}");
            start.ArgumentList.Add($"--regid={group}");
            start.ArgumentList.Add("--clear-groups");
            start.ArgumentList.Add("--no-new-privs");
            start.Environment["HOME"] = folder;
            start.Environment["USER"] = account;
            start.Environment["LOGNAME"] = account;
        }

        if (options.MemoryLimitBytes is not null || options.ProcessLimit is not null)
        {
            start.ArgumentList.Add(Executable(PrLimit)
                ?? throw new RserveException(
                    $"'{PrLimit}' (util-linux) is needed to limit R; install util-linux."));
            if (options.MemoryLimitBytes is { } bytes)
            {
                start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"--as={bytes}"));
            }

            if (options.ProcessLimit is { } processes)
            {
                start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"--nproc={processes}"));
            }

            start.ArgumentList.Add("--");
        }
    }

    /// <summary>
    /// Clears the environment a child process would get from the host (passwords, keys given as variables) but for
    /// what programs need to run: PATH, HOME, TZ, LANG and the LC_ variables.
    /// </summary>
    /// <param name="start">The child's start; its program then adds its own variables.</param>
    public static void KeepPlainEnvironment(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        foreach (var name in start.Environment.Keys.ToArray())
        {
            if (name is not ("PATH" or "HOME" or "TZ" or "LANG" or "LANGUAGE")
                && !name.StartsWith("LC_", StringComparison.Ordinal))
            {
                start.Environment.Remove(name);
            }
        }
    }

    // Runs a helper program to its end and returns its output; a failure is an RserveException quoting its error.
    private static async Task<string> RunAsync(
        string program, CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new RserveException($"Cannot start '{program}'.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return process.ExitCode == 0
            ? (await output.ConfigureAwait(false)).Trim()
            : throw new RserveException(
                $"'{program} {string.Join(' ', arguments)}' failed: {(await error.ConfigureAwait(false)).Trim()}");
    }

    // The processes whose parent is the given one (Linux: field 4 of /proc/PID/stat), with their start times.
    private static List<(int Id, long Started)> Children(int parent)
    {
        var children = new List<(int, long)>();
        var parentId = parent.ToString(CultureInfo.InvariantCulture);
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { Length: > 19 } fields && fields[1] == parentId)
            {
                children.Add((pid, long.Parse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture)));
            }
        }

        return children;
    }

    // The fields of /proc/PID/stat after the parenthesised name (the first is field 3, the state); null when the
    // process has ended or there is no such file.
    private static string[]? Stat(int processId)
    {
        try
        {
            var stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/stat"));
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void DeleteFolder(DirectoryInfo folder)
    {
        try
        {
            folder.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    // Reads a stream of the server's output to its end, keeping its last OutputKept characters.
    private async Task KeepAsync(Stream stream)
    {
        var bytes = new byte[64 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var decoder = Encoding.UTF8.GetDecoder();
        try
        {
            int read;
            while ((read = await stream.ReadAsync(bytes).ConfigureAwait(false)) > 0)
            {
                var count = decoder.GetChars(bytes, 0, read, chars, 0);
                var kept = Math.Min(count, OutputKept);
                lock (_output)
                {
                    _output.Append(chars, count - kept, kept);
                    if (_output.Length > OutputKept)
                    {
                        _output.Remove(0, _output.Length - OutputKept);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe is gone with the process.
        }
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Exception? lastProbe = null;
        try
        {
            while (true)
            {
                if (_process.HasExited)
                {
                    // Let the output readers drain before quoting them (not for ever: a child may hold the pipes).
                    await Task.WhenAny(_outputRead, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None))
                        .ConfigureAwait(false);
                    throw new RserveException(
                        $"Rserve exited with code {_process.ExitCode} before it answered at {Endpoint}. "
                        + $"Its output:\n{Output}");
                }

                try
                {
                    if (SecureSocket())
                    {
                        await ProbeAsync(deadline.Token).ConfigureAwait(false);
                        return;
                    }
                }
                catch (Exception e) when (e is SocketException or IOException or RserveException)
                {
                    lastProbe = e;
                }

                await Task.Delay(ProbeInterval, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RserveException(string.Create(
                CultureInfo.InvariantCulture,
                $"Rserve did not answer at {Endpoint} within {timeout.TotalSeconds:0.#} s "
                + $"({lastProbe?.Message ?? "no answer"}). Its output:\n{Output}"));
        }
    }

    // Once Rserve has made its socket, and before anyone connects (so before any R code but the start-up script runs):
    // when R runs under Rserve's own account, a host running as root takes the socket, so that R cannot connect
    // (Rserve's chmod to its sockmod, should it come after, then fails). Isolated, Rserve keeps it (0600: no R process
    // has its id), so that its watchdog can delete it: in a user namespace no file of an unmapped owner can be deleted.
    // False while there is no socket yet.
    private bool SecureSocket()
    {
        if (SocketPath is null || _socketSecured)
        {
            return true;
        }

        if (!Path.Exists(SocketPath))
        {
            return false;
        }

        if (Environment.IsPrivilegedProcess && _isolationIdBase is null && !OperatingSystem.IsWindows())
        {
            if (NativeMethods.LChown(Encoding.UTF8.GetBytes(SocketPath + "\0"), 0, 0) != 0)
            {
                throw new RserveException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"Cannot take Rserve's socket {SocketPath} (error {Marshal.GetLastPInvokeError()})."));
            }

            File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        _socketSecured = true;
        return true;
    }

    // Connects to the socket (or port) and reads an Rserve ID string.
    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        using var probe = SocketPath is null
            ? new Socket(SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        EndPoint endpoint = SocketPath is null
            ? new IPEndPoint(IPAddress.Loopback, Port)
            : new UnixDomainSocketEndPoint(SocketPath);
        await probe.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
        using var stream = new NetworkStream(probe);
        await ServerIdentity.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    // The file a program name or path starts, as the process launcher finds it; null if there is none.
    internal static string? Executable(string program) =>
        program.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? (File.Exists(program) ? program : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
                .Select(folder => Path.Combine(folder, program))
                .FirstOrDefault(File.Exists);

    private static class NativeMethods
    {
        public const int SigKill = 9;

        [DllImport("libc", EntryPoint = "kill")]
        public static extern int Kill(int processId, int signal);

        [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
        public static extern int LChown(byte[] path, uint owner, uint group);


    }
}
