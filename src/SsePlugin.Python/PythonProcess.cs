using SsePlugin.Rserve;

namespace SsePlugin.Python;

/// <summary>
/// The Python process of one call: what the host writes to it and reads from it, and its end. On Linux and macOS it
/// leads a session (and process group) of its own, which ending it ends with every process it started; isolated, it
/// runs under a user id the call holds, which disposing it gives back once no process of that id is left.
/// </summary>
internal sealed class PythonProcess : IAsyncDisposable
{
    // How long the processes of a call's id may take to end before the id is kept from later calls.
    private static readonly TimeSpan EndPatience = TimeSpan.FromSeconds(10);

    private readonly Action? _kill;
    private readonly (IsolationIdBlock Ids, uint User)? _isolation;
    private readonly long _startTime;
    private int _ended;

    private PythonProcess(
        Stream input, Stream output, int processId, Action? kill, (IsolationIdBlock Ids, uint User)? isolation)
    {
        Input = input;
        Output = new BufferedStream(output, 64 * 1024);
        ProcessId = processId;
        _kill = kill;
        _isolation = isolation;
        _startTime = kill is null ? RserveProcess.StartTime(processId) ?? 0 : 0;
    }

    /// <summary>
    /// Gets the user id the process switches to in the worker's user namespace when it has read the call; 0 when calls
    /// are not isolated.
    /// </summary>
    public uint NamespaceUser => _isolation is var (ids, user) ? user - ids.First : 0;

    /// <summary>Gets the stream the call's request goes to.</summary>
    public Stream Input { get; }

    /// <summary>Gets the stream the answer comes from.</summary>
    public Stream Output { get; }

    /// <summary>Gets the process's id.</summary>
    public int ProcessId { get; }

    /// <summary>Takes a new process: reads the id it sends first.</summary>
    /// <param name="input">Where requests go.</param>
    /// <param name="output">Where answers come from.</param>
    /// <param name="kill">Ends the process, where it does not lead a process group of its own (Windows).</param>
    /// <param name="isolation">The call's user id and its block, when calls are isolated; else null.</param>
    /// <param name="cancellationToken">Cancels the wait for the id.</param>
    /// <returns>The process.</returns>
    public static async Task<PythonProcess> StartedAsync(
        Stream input,
        Stream output,
        Action? kill,
        (IsolationIdBlock Ids, uint User)? isolation,
        CancellationToken cancellationToken)
    {
        var id = new byte[4];
        try
        {
            await output.ReadExactlyAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            kill?.Invoke();
            await input.DisposeAsync().ConfigureAwait(false);
            await output.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new PythonProcess(input, output, BitConverter.ToInt32(id), kill, isolation);
    }

    /// <summary>Ends the process at once, with every process it started (that stayed in its group).</summary>
    public void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }

        if (_kill is not null)
        {
            _kill();
        }
        else
        {
            RserveProcess.KillProcessGroup(ProcessId, _startTime);
        }
    }

    public async ValueTask DisposeAsync()
    {
        End();
        await Input.DisposeAsync().ConfigureAwait(false);
        await Output.DisposeAsync().ConfigureAwait(false);
        if (_isolation is var (ids, user))
        {
            // Also what the call started in sessions of its own (its /tmp and IPC go with its last process), in the
            // background: the id stays held, kept from later calls, until none of its processes is left.
            _ = Task.Run(() => ids.ReleaseAsync(user, EndPatience));
        }
    }
}
