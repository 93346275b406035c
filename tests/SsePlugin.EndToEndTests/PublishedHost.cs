using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SsePlugin.EndToEndTests;

/// <summary>A published host running as a process of its own: the port it listens on, what it printed, its stop.
/// </summary>
internal sealed partial class PublishedHost : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;

    private readonly StringBuilder _printed = new();

    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PublishedHost(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, line) => Print(line.Data);
        _process.ErrorDataReceived += (_, line) => Print(line.Data);
        _process.Exited += (_, _) => _port.TrySetException(new InvalidOperationException(
            $"The host exited ({_process.ExitCode}) before it listened:\n{Printed}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Gets everything the host printed so far, standard output and standard error.</summary>
    public string Printed
    {
        get
        {
            lock (_printed)
            {
                return _printed.ToString();
            }
        }
    }

    /// <summary>Starts a program, which is or becomes (exec) the host.</summary>
    public static PublishedHost Start(string program, params string[] args) => new(new ProcessStartInfo(program, args)
    {
        WorkingDirectory = Path.GetTempPath(),
    });

    /// <summary>Waits until the host listens.</summary>
    /// <returns>Its port, from its line <c>Now listening on: http://127.0.0.1:PORT</c>.</returns>
    public Task<int> ListeningAsync() => _port.Task.WaitAsync(Patience);

    /// <summary>Stops the host by its process id with SIGTERM, as systemd does.</summary>
    /// <returns>Its exit code.</returns>
    public async Task<int> StopAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(Patience);
        return _process.ExitCode;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Print(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_printed)
        {
            _printed.AppendLine(line);
        }

        if (Listening().Match(line) is { Success: true } listening)
        {
            _port.TrySetResult(int.Parse(listening.Groups["port"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(?<port>\d+)")]
    private static partial Regex Listening();
}
