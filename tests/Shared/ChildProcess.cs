using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SsePlugin.TestInfrastructure;

/// <summary>
/// A program a test starts as a process of its own (a host, a sample app, <c>dotnet pack</c>, nginx): its standard
/// output and standard error read line by line for as long as it runs (a full pipe would stall it), waits for a line
/// it writes or for its end, and stops it by its own process id. Compiled into each test project that starts one.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<(string Text, bool IsError)> _lines = [];
    private readonly List<LineWaiter> _waiters = [];

    private ChildProcess(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        Name = Path.GetFileName(start.FileName);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Receive(e.Data, isError: false);
        _process.ErrorDataReceived += (_, e) => Receive(e.Data, isError: true);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Gets the program's name, for messages.</summary>
    public string Name { get; }

    /// <summary>Gets the process id.</summary>
    public int Id => _process.Id;

    /// <summary>Gets whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets the exit code of the ended process.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Gets the lines written so far, to standard output and standard error, in the order they came.</summary>
    public IReadOnlyList<string> Lines => Select(_ => true);

    /// <summary>Gets the lines written to standard output so far.</summary>
    public IReadOnlyList<string> OutputLines => Select(line => !line.IsError);

    /// <summary>Gets what was written to standard output so far, each line ended by a line break.</summary>
    public string Output => Text(OutputLines);

    /// <summary>Gets what was written to standard error so far, each line ended by a line break.</summary>
    public string Errors => Text(Select(line => line.IsError));

    /// <summary>Gets everything written so far, standard output and standard error, in the order it came.</summary>
    public string Printed => Text(Lines);

    /// <summary>Starts a program.</summary>
    /// <param name="program">The program, e.g. <c>dotnet</c>.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="workingDirectory">Where it runs; the test's own folder when null.</param>
    /// <param name="environment">More environment variables; optional.</param>
    /// <returns>The running process.</returns>
    public static ChildProcess Start(
        string program,
        IEnumerable<string> args,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program, args) { WorkingDirectory = workingDirectory ?? string.Empty };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new ChildProcess(start);
    }

    /// <summary>Runs a program to its end; killed, with a <see cref="TimeoutException"/>, past the timeout.</summary>
    /// <param name="program">The program.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="timeout">How long it may take.</param>
    /// <param name="workingDirectory">Where it runs; the test's own folder when null.</param>
    /// <param name="environment">More environment variables; optional.</param>
    /// <returns>The ended process: its exit code and what it printed.</returns>
    public static async Task<ChildProcess> RunAsync(
        string program,
        IEnumerable<string> args,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = Start(program, args, workingDirectory, environment);
        try
        {
            await process.WaitForExitAsync(timeout);
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the process writes a line that matches, on standard output or standard error.</summary>
    /// <param name="pattern">The line's pattern.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The match.</returns>
    /// <exception cref="InvalidOperationException">The process ended first, or the time ran out.</exception>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout) =>
        (await WaitForLinesAsync(pattern, 1, timeout))[0];

    /// <summary>Waits until the process has written <paramref name="count"/> lines that match.</summary>
    /// <param name="pattern">The lines' pattern.</param>
    /// <param name="count">How many.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The matches, in the order of the lines.</returns>
    /// <exception cref="InvalidOperationException">The process ended first, or the time ran out.</exception>
    public async Task<IReadOnlyList<Match>> WaitForLinesAsync(Regex pattern, int count, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var waiter = new LineWaiter(pattern, count);
        lock (_lines)
        {
            foreach (var (text, _) in _lines)
            {
                waiter.Offer(text);
            }

            if (!waiter.Found.Task.IsCompleted)
            {
                _waiters.Add(waiter);
            }
        }

        // The process's end comes after its last line: WaitForExitAsync waits for both pipes to close.
        var exited = _process.WaitForExitAsync();
        try
        {
            await Task.WhenAny(waiter.Found.Task, exited).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // told below, with what it wrote
        }

        if (waiter.Found.Task.IsCompleted)
        {
            return await waiter.Found.Task;
        }

        lock (_lines)
        {
            _waiters.Remove(waiter);
        }

        var why = exited.IsCompleted
            ? $"ended with code {ExitCode}"
            : $"ran {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
        throw new InvalidOperationException(
            $"{Name} {why} without writing {count} line(s) matching '{pattern}'. It wrote:\n{Printed}");
    }

    /// <summary>Waits until the process ends; past the timeout, kills it and fails.</summary>
    /// <param name="timeout">How long it may take.</param>
    /// <returns>Its exit code.</returns>
    /// <exception cref="TimeoutException">It did not end in time (it is killed).</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException(
                $"{Name} did not end in {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s and was "
                + $"killed. It wrote:\n{Printed}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends the process a signal by its id, e.g. <c>TERM</c> (as systemd stops a service) or <c>INT</c>
    /// (Ctrl+C).</summary>
    /// <param name="signal">The signal's name.</param>
    /// <returns>A task that completes when the signal is sent.</returns>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {Id} failed with exit code {kill.ExitCode}.");
        }
    }

    /// <summary>Stops the process with SIGTERM and waits until it ends.</summary>
    /// <param name="timeout">How long it may take to end.</param>
    /// <returns>Its exit code.</returns>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        await SignalAsync("TERM");
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Kills the process and the processes it started, if it still runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Kills the process if it still runs, and waits until it is gone and its output read; at most 30 s for
    /// the output, which a process it started and left running may hold open.</summary>
    /// <returns>A task that completes when it is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        Kill();
        using var output = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(output.Token);
        }
        catch (OperationCanceledException) when (_process.HasExited)
        {
            // Gone; a process it left running still holds its output open.
        }

        _process.Dispose();
    }

    private static string Text(IEnumerable<string> lines) =>
        string.Concat(lines.Select(line => line + Environment.NewLine));

    private List<string> Select(Func<(string Text, bool IsError), bool> which)
    {
        lock (_lines)
        {
            return [.. _lines.Where(which).Select(line => line.Text)];
        }
    }

    private void Receive(string? text, bool isError)
    {
        if (text is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add((text, isError));
            _waiters.RemoveAll(waiter => waiter.Offer(text));
        }
    }

    // Someone waiting for lines: done once it has seen as many matching lines as it waits for.
    private sealed class LineWaiter(Regex pattern, int count)
    {
        private readonly List<Match> _matches = [];

        public TaskCompletionSource<IReadOnlyList<Match>> Found { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Offer(string line)
        {
            if (Found.Task.IsCompleted)
            {
                return true;
            }

            if (pattern.Match(line) is { Success: true } match)
            {
                _matches.Add(match);
            }

            return _matches.Count >= count && Found.TrySetResult(_matches);
        }
    }
}
