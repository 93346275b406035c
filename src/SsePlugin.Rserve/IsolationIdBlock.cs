using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace SsePlugin.Rserve;

/// <summary>
/// A block of <see cref="RserveProcess.IsolationIds"/> user and group ids a host gives the processes of an engine's
/// calls, mapped into a user namespace of its own (<see cref="UserNamespace"/>): the first is the server's (Rserve, the
/// Python worker), each of the others a call's while that call holds it. A lock file (in <c>/run/sseplugin</c>) keeps
/// other hosts of the machine, and the host's other engines, off the block while it is taken.
/// </summary>
public sealed class IsolationIdBlock : IDisposable
{
    /// <summary>How many blocks from an id base on the hosts (and engines) of a machine may take.</summary>
    public const uint Blocks = 16;

    /// <summary>The highest id base: its blocks end at the highest user id, 2^32 - 2.</summary>
    public const uint HighestBase = uint.MaxValue - (Blocks * RserveProcess.IsolationIds);

    private readonly FileStream _lock;
    private readonly HashSet<uint> _held = [];
    private uint _nextOffset;

    private IsolationIdBlock(uint first, FileStream @lock)
    {
        First = first;
        _lock = @lock;
    }

    /// <summary>Gets the block's first id: the server's.</summary>
    public uint First { get; }

    /// <summary>Takes the first block from <paramref name="firstBase"/> on that no other host or engine holds.
    /// </summary>
    /// <param name="firstBase">The first id of the first block.</param>
    /// <param name="setting">The setting <paramref name="firstBase"/> comes from, for messages.</param>
    /// <returns>The block, held until disposed.</returns>
    /// <exception cref="RserveException">Others hold every block, or no lock file can be made.</exception>
    [SupportedOSPlatform("linux")]
    public static IsolationIdBlock Take(uint firstBase, string setting)
    {
        var folder = LockFolder(["/run/sseplugin", Path.Combine(Path.GetTempPath(), "sseplugin")]);
        for (var block = 0u; block < Blocks; block++)
        {
            var first = firstBase + (block * RserveProcess.IsolationIds);
            try
            {
                // FileShare.None locks the file (flock) until the stream is closed, also when the process dies.
                return new IsolationIdBlock(first, new FileStream(
                    Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"ids-{first}.lock")),
                    FileMode.OpenOrCreate,
                    FileAccess.ReadWrite,
                    FileShare.None));
            }
            catch (IOException)
            {
                // Another host, or another engine of this one, holds this block.
            }
        }

        throw new RserveException(
            $"{setting}: other hosts (or engines) on this machine hold all {Blocks} blocks of ids from {firstBase} on; "
            + "stop one, or give this host other ids.");
    }

    /// <summary>
    /// Takes a block (see <see cref="Take"/>) for an engine's calls when they may be isolated: on Linux, by a host
    /// running as root, neither opted out of (<paramref name="firstBase"/> 0, <paramref name="runAsRoot"/>), and on a
    /// machine that lets a process map the block's ids into a user namespace of its own
    /// (<see cref="RserveProcess.IsolationProblemAsync"/>).
    /// </summary>
    /// <param name="firstBase">The first id of the first block; 0 for none.</param>
    /// <param name="runAsRoot">Whether the engine's calls are to run as root (<c>RunAs: root</c>).</param>
    /// <param name="section">The engine's configuration section, for messages.</param>
    /// <param name="engine">The engine, for messages (<c>R</c>).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The block, held until disposed; or null and why the calls cannot be isolated.</returns>
    /// <exception cref="RserveException">Others hold every block, or no lock file can be made.</exception>
    public static async Task<(IsolationIdBlock? Block, string? Problem)> TakeUsableAsync(
        uint firstBase, bool runAsRoot, string section, string engine, CancellationToken cancellationToken)
    {
        if (firstBase == 0 || runAsRoot)
        {
            return (null, firstBase == 0 ? $"{section}:IsolationIdBase is 0" : $"{section}:RunAs is root");
        }

        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return (null, $"only a host running as root on Linux can give {engine} calls ids of their own");
        }

        var block = Take(firstBase, $"{section}:IsolationIdBase");
        string? problem;
        try
        {
            problem = await RserveProcess.IsolationProblemAsync(block.First, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            block.Dispose();
            throw;
        }

        if (problem is null)
        {
            return (block, null);
        }

        block.Dispose();
        return (null, problem);
    }

    /// <summary>
    /// Finds an account or group whose id, or a subordinate id range (<c>/etc/subuid</c>, <c>/etc/subgid</c>, whose
    /// owner could take those ids in a user namespace of theirs) that falls in the blocks from
    /// <paramref name="firstBase"/> on.
    /// </summary>
    /// <param name="firstBase">The first id of the first block.</param>
    /// <param name="setting">The setting <paramref name="firstBase"/> comes from, for messages.</param>
    /// <param name="engine">The engine whose calls would run under the ids, for messages (<c>R</c>).</param>
    /// <returns>The problem in one line, naming the setting; null when there is none.</returns>
    public static string? Conflict(uint firstBase, string setting, string engine)
    {
        var last = firstBase + (Blocks * RserveProcess.IsolationIds) - 1;
        setting = $"{setting} is {firstBase}, but ids {firstBase} to {last}, which {engine} calls would run under,";
        foreach (var (database, kind) in (ReadOnlySpan<(string, string)>)[("passwd", "account"), ("group", "group")])
        {
            foreach (var entry in Entries(database))
            {
                var fields = entry.Split(':');
                if (fields.Length > 2 && uint.TryParse(fields[2], CultureInfo.InvariantCulture, out var id)
                    && id >= firstBase && id <= last)
                {
                    return $"{setting} hold the {kind} '{fields[0]}' ({id}); choose ids that no account uses.";
                }
            }
        }

        foreach (var file in (ReadOnlySpan<string>)["/etc/subuid", "/etc/subgid"])
        {
            foreach (var entry in File.Exists(file) ? File.ReadLines(file) : [])
            {
                var fields = entry.Split(':');
                if (fields.Length == 3 && uint.TryParse(fields[1], CultureInfo.InvariantCulture, out var start)
                    && uint.TryParse(fields[2], CultureInfo.InvariantCulture, out var count) && count > 0
                    && start <= last && (ulong)start + count > firstBase)
                {
                    return $"{setting} overlap the ids {file} gives '{fields[0]}' ({start} to {start + count - 1}); "
                        + "choose ids outside every range of /etc/subuid and /etc/subgid.";
                }
            }
        }

        return null;
    }

    /// <summary>Gets whether an id is one the block gives calls (not the server's own).</summary>
    /// <param name="id">A user id.</param>
    /// <returns>True if it is.</returns>
    public bool IsSessionId(uint id) => id > First && id - First < RserveProcess.IsolationIds;

    /// <summary>Holds an id for a call, unless a live call holds it.</summary>
    /// <param name="id">The call's id.</param>
    /// <returns>True if the call now holds it.</returns>
    public bool TryHold(uint id)
    {
        lock (_held)
        {
            return _held.Add(id);
        }
    }

    /// <summary>
    /// Holds the next id no call holds after the last one given, in turn through the block, for a call: an id comes
    /// back to a later call only after every other id of the block, and once <see cref="ReleaseAsync"/> has found none
    /// of its processes left.
    /// </summary>
    /// <returns>The id; null when calls hold every id.</returns>
    public uint? HoldFree()
    {
        const uint CallIds = RserveProcess.IsolationIds - 1;
        lock (_held)
        {
            for (uint step = 0; step < CallIds; step++)
            {
                var offset = (_nextOffset + step) % CallIds;
                if (_held.Add(First + 1 + offset))
                {
                    _nextOffset = offset + 1;
                    return First + 1 + offset;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Ends every process of an id (SIGKILL, again for any a process starts meanwhile) and gives the id back once none
    /// is left. One left after <paramref name="patience"/> (a process stuck in the kernel) keeps the id held, so that
    /// no later call gets it. Linux, as root.
    /// </summary>
    /// <param name="id">An id <see cref="HoldFree"/> gave.</param>
    /// <param name="patience">How long to wait for the processes to end.</param>
    /// <returns>True if the id was given back.</returns>
    public async Task<bool> ReleaseAsync(uint id, TimeSpan patience)
    {
        var waited = TimeProvider.System.GetTimestamp();
        while (RserveProcess.KillProcessesOf(id) > 0)
        {
            if (TimeProvider.System.GetElapsedTime(waited) > patience)
            {
                return false;
            }

            await Task.Delay(1).ConfigureAwait(false);
        }

        Release(id);
        return true;
    }

    /// <summary>Gives back an id once no process of its call is left.</summary>
    /// <param name="id">The id.</param>
    public void Release(uint id)
    {
        lock (_held)
        {
            _held.Remove(id);
        }
    }

    /// <summary>Lets other hosts and engines take the block.</summary>
    public void Dispose() => _lock.Dispose();

    /// <summary>
    /// Makes, or finds, the folder of the blocks' lock files, root's alone: the first of <paramref name="folders"/>
    /// that can be made (/run/sseplugin, else /tmp/sseplugin). One that is a symbolic link, or that another account
    /// owns or may use, is refused: whoever made it (any local user, or an R script, can make /tmp/sseplugin first)
    /// could hold the locks.
    /// </summary>
    /// <param name="folders">The folders to try, in order.</param>
    /// <returns>The folder.</returns>
    /// <exception cref="RserveException">No folder can be made, or the one found is not root's alone.</exception>
    [SupportedOSPlatform("linux")]
    internal static string LockFolder(ReadOnlySpan<string> folders)
    {
        var problem = string.Empty;
        foreach (var folder in folders)
        {
            try
            {
                Directory.CreateDirectory(
                    folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = e.Message;
                continue;
            }

            if (Ownership(folder) is not "owner 0, mode 700" and var found)
            {
                throw new RserveException(
                    $"The lock folder of R's and Python's ids, {folder}, is not root's alone ({found}), so another "
                    + "account could hold their ids: delete it, and start the host again.");
            }

            return folder;
        }

        throw new RserveException(
            $"No folder for the lock files of R's and Python's ids can be made in /run or /tmp: {problem}");
    }

    // A folder's owner and mode ("owner 0, mode 700": root's alone), or that it is a symbolic link.
    private static string Ownership(string folder)
    {
        if (new DirectoryInfo(folder).LinkTarget is { } target)
        {
            return $"a symbolic link to {target}";
        }

        using var stat = Process.Start(new ProcessStartInfo("stat", ["--format=%u %a", "--", folder])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new RserveException("Cannot start 'stat' (coreutils).");
        var ownership = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return ownership.Split(' ') is [var owner, var mode] ? $"owner {owner}, mode {mode}" : ownership;
    }

    // The entries of a name service database (getent passwd: LDAP accounts too), or of its file in /etc.
    private static IEnumerable<string> Entries(string database)
    {
        try
        {
            using var getent = Process.Start(new ProcessStartInfo("getent", [database])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            if (getent is not null)
            {
                var entries = getent.StandardOutput.ReadToEnd().Split('\n');
                getent.WaitForExit();
                if (getent.ExitCode == 0)
                {
                    return entries;
                }
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No getent: the file.
        }

        var file = $"/etc/{database}";
        return File.Exists(file) ? File.ReadLines(file) : [];
    }
}
