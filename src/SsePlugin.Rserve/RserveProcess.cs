using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SsePlugin.Rserve.Protocol;

namespace SsePlugin.Rserve;

/// <summary>
/// An Rserve server run as a child process (<c>Rscript -e "Rserve::run.Rserve(...)"</c>, which stays in the foreground)
/// with a generated configuration: loopback only, UTF-8, no file transfer. Disposing it kills the server and its
/// per-connection R processes.
/// </summary>
public sealed class RserveProcess : IAsyncDisposable
{
    // The output kept for error messages: its last characters.
    private const int OutputKept = 16 * 1024;
    private const string SetSid = "/usr/bin/setsid";
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(50);

    private readonly Process _process;
    private readonly DirectoryInfo _folder;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private RserveProcess(Process process, DirectoryInfo folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    /// <summary>Gets the loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the server's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets whether the server has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets a task that completes when the server exits (its per-connection R processes end with their connections).</summary>
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

    /// <summary>Starts Rserve and waits until it answers on its port with its ID string.</summary>
    /// <param name="options">The Rscript to use, the port, and whether clients must log in.</param>
    /// <param name="cancellationToken">Cancels waiting; the process is killed then.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="RserveException">Rscript cannot be started, or Rserve exits or does not answer in time; the message holds its output.</exception>
    public static async Task<RserveProcess> StartAsync(RserveProcessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckPortFree(options.Port);
        var folder = Directory.CreateTempSubdirectory("sseplugin-rserve-");
        var config = Path.Combine(folder.FullName, "Rserv.conf");
        await File.WriteAllTextAsync(config, Configuration(options), cancellationToken).ConfigureAwait(false);

        // In a session of its own, Rserve does not get the Ctrl+C a terminal sends the host's process group, so
        // running R calls can finish while the host stops; the host stops Rserve itself afterwards. setsid execs
        // Rscript in its own process, which keeps its process id.
        var detached = !OperatingSystem.IsWindows() && File.Exists(SetSid) && Executable(options.RscriptPath) is not null;
        var start = new ProcessStartInfo(detached ? SetSid : options.RscriptPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (detached)
        {
            start.ArgumentList.Add(options.RscriptPath);
        }

        start.ArgumentList.Add("-e");
        start.ArgumentList.Add((detached ? Watchdog(folder.FullName) : string.Empty) + $"Rserve::run.Rserve(config.file='{RString(config)}')");
        var server = new RserveProcess(new Process { StartInfo = start }, folder, options.Port);
        // Not WaitForExitAsync: it also waits for the end of the output, which the per-connection R processes
        // inherit and keep open after the server itself has died.
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server._process.EnableRaisingEvents = true;
        server._process.Exited += (_, _) => exited.TrySetResult();
        server._process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        try
        {
            try
            {
                server._process.Start();
            }
            catch (Win32Exception e)
            {
                throw new RserveException($"Cannot start '{options.RscriptPath}': {e.Message}. Install R with the Rserve package, or set the Rscript path.", null, e);
            }

            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            server.Exited = exited.Task;
            await server.WaitUntilAnsweringAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Finds a free TCP port on 127.0.0.1 by binding port 0.</summary>
    /// <returns>A port that was free a moment ago.</returns>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills the server with all its R processes, waits for it to exit, and deletes its configuration folder.</summary>
    /// <returns>A task that completes when the server is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await Exited.ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
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
            throw new RserveException($"Port {port} on 127.0.0.1 is in use, so Rserve cannot listen there: {e.Message}", null, e);
        }
    }

    private static string Configuration(RserveProcessOptions options)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"port {options.Port}"),
            "remote disable",
            "fileio disable",
            "interactive no",
            "encoding utf8",
        };
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

    // Should this process die without stopping Rserve (killed, or crashed), a process forked from Rserve's before it
    // starts serving ends Rserve's whole session, its R processes included, and deletes its folder within a second:
    // the next start finds the port free.
    private static string Watchdog(string folder) =>
        $"local({{ owner <- {Environment.ProcessId}L; server <- Sys.getpid(); parallel::mcparallel({{ "
        + $"while (tools::pskill(owner, 0L)) Sys.sleep(1); unlink('{RString(folder)}', recursive = TRUE); system(paste0('kill -9 -', server)) "
        + "}, detached = TRUE) }); ";

    // The text of a single-quoted R string literal.
    private static string RString(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
            if (_output.Length > OutputKept)
            {
                _output.Remove(0, _output.Length - OutputKept);
            }
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
                    // Let the output readers drain before quoting them.
                    await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new RserveException($"Rserve exited with code {_process.ExitCode} before it answered on port {Port}. Its output:\n{Output}");
                }

                try
                {
                    await ProbeAsync(deadline.Token).ConfigureAwait(false);
                    return;
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
                CultureInfo.InvariantCulture, $"Rserve did not answer on port {Port} within {timeout.TotalSeconds:0.#} s ({lastProbe?.Message ?? "no answer"}). Its output:\n{Output}"));
        }
    }

    // Connects to the port and reads an Rserve ID string.
    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        using var probe = new TcpClient();
        await probe.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
        await ServerIdentity.ReadAsync(probe.GetStream(), cancellationToken).ConfigureAwait(false);
    }

    // The file a program name or path starts, as the process launcher finds it; null if there is none.
    private static string? Executable(string program) =>
        program.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? (File.Exists(program) ? program : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
                .Select(folder => Path.Combine(folder, program))
                .FirstOrDefault(File.Exists);
}
