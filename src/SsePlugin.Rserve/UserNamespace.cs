using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;

namespace SsePlugin.Rserve;

/// <summary>
/// Starts a server (Rserve, the Python worker) as root of a user namespace of its own whose ids 0 to 65535 are an
/// <see cref="IsolationIdBlock"/>'s (Linux, as root): inside it the server may switch each call's process to an id of
/// its own, and has no right over anything outside the block (files of root, the host's other processes).
/// </summary>
public static class UserNamespace
{
    private const string Unshare = "unshare";

    // The line the server's shell waits for once its user namespace has ids: then it runs the server.
    private const string WaitForIds = "read _ && exec \"$@\"";

    /// <summary>
    /// Adds the programs that run the program that follows in a user namespace of its own as its root, with no other
    /// groups and no capabilities to hand on, once <see cref="GiveIdsAsync"/> has mapped the namespace's ids: unshare,
    /// a shell waiting for a line on its standard input (to be redirected), setpriv.
    /// </summary>
    /// <param name="arguments">The arguments of the process started (setsid, or the program's first arguments).</param>
    /// <exception cref="RserveException">unshare or setpriv (util-linux) is missing.</exception>
    public static void AddLauncher(Collection<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        arguments.Add(RserveProcess.Executable(Unshare)
            ?? throw new RserveException($"'{Unshare}' (util-linux) is needed to isolate calls; install util-linux"));
        arguments.Add("--user");
        arguments.Add("--keep-caps");
        arguments.Add("/bin/sh");
        arguments.Add("-c");
        arguments.Add(WaitForIds);
        arguments.Add("sh");
        arguments.Add(RserveProcess.Executable(RserveProcess.SetPriv)
            ?? throw new RserveException(
                $"'{RserveProcess.SetPriv}' (util-linux) is needed to isolate calls; install util-linux"));
        arguments.Add("--reuid=0");
        arguments.Add("--regid=0");
        arguments.Add("--clear-groups");
        arguments.Add("--inh-caps=-all");
        arguments.Add("--ambient-caps=-all");
        arguments.Add("--no-new-privs");
    }

    /// <summary>
    /// Lets a process started with <see cref="AddLauncher"/> go on: waits until unshare has made its user namespace
    /// (the process's namespace differs from this one's), maps the namespace's ids 0 to 65535 to
    /// <paramref name="idBase"/> on, and writes the line its shell waits for.
    /// </summary>
    /// <param name="process">The process, its standard input redirected.</param>
    /// <param name="idBase">The first id of the block (<see cref="IsolationIdBlock.First"/>).</param>
    /// <param name="timeout">How long unshare may take.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Null when done, else what failed.</returns>
    public static async Task<string?> GiveIdsAsync(
        Process process, uint idBase, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        var own = new FileInfo("/proc/self/ns/user").LinkTarget;
        var proc = string.Create(CultureInfo.InvariantCulture, $"/proc/{process.Id}/");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (new FileInfo(proc + "ns/user").LinkTarget == own)
        {
            if (process.HasExited)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"unshare could not make a user namespace (exit code {process.ExitCode})");
            }

            await Task.Delay(1, deadline.Token).ConfigureAwait(false);
        }

        var map = string.Create(CultureInfo.InvariantCulture, $"0 {idBase} {RserveProcess.IsolationIds}");
        try
        {
            await File.WriteAllTextAsync(proc + "uid_map", map, cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(proc + "gid_map", map, cancellationToken).ConfigureAwait(false);
            await process.StandardInput.WriteLineAsync().ConfigureAwait(false);
            await process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"the ids {idBase} to {idBase + RserveProcess.IsolationIds - 1} cannot be mapped into a user "
                + $"namespace ({e.Message})");
        }
    }
}
