using System.Diagnostics;
using System.Runtime.Versioning;
using SsePlugin.Rserve;

namespace SsePlugin.Server.Tests;

/// <summary>The folder of the lock files that keep hosts off each other's R ids (as root, as CI runs the tests).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class IsolationIdBlockTests : IDisposable
{
    private readonly DirectoryInfo _parent = Directory.CreateTempSubdirectory("sseplugin-locks-");

    [Fact]
    public void A_lock_folder_it_makes_is_roots_alone_and_is_used()
    {
        RequireRoot();
        var folder = Path.Combine(_parent.FullName, "sseplugin");

        Assert.Equal(folder, IsolationIdBlock.LockFolder(["/proc/no-such-folder/sseplugin", folder]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(folder));
    }

    [Fact]
    public void A_lock_folder_another_account_made_first_is_refused()
    {
        RequireRoot();
        var folder = Path.Combine(_parent.FullName, "sseplugin");
        Directory.CreateDirectory(folder);
        Run("chown", "nobody", folder);

        var error = Assert.Throws<RserveException>(() => IsolationIdBlock.LockFolder([folder]));

        Assert.Contains(
            $"The lock folder of R's and Python's ids, {folder}, is not root's alone (owner 65534", error.Message);
        Assert.Contains("delete it", error.Message);
    }

    [Fact]
    public void A_lock_folder_that_is_a_symbolic_link_is_refused()
    {
        RequireRoot();
        var target = Directory.CreateDirectory(Path.Combine(_parent.FullName, "planted"));
        target.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var folder = Path.Combine(_parent.FullName, "sseplugin");
        Directory.CreateSymbolicLink(folder, target.FullName);

        var error = Assert.Throws<RserveException>(() => IsolationIdBlock.LockFolder([folder]));

        Assert.Contains($"is not root's alone (a symbolic link to {target.FullName})", error.Message);
    }

    [Fact]
    public void Ids_are_given_in_turn_not_the_lowest_free_one()
    {
        RequireRoot();
        using var block = IsolationIdBlock.Take(3_000_000_000, "Test:IsolationIdBase");

        var first = block.HoldFree()!.Value;
        block.Release(first);
        var second = block.HoldFree()!.Value;

        Assert.Equal(block.First + 1, first);
        Assert.Equal(first + 1, second);
    }

    [Fact]
    public async Task A_cancelled_isolation_check_gives_its_block_back()
    {
        RequireRoot();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IsolationIdBlock.TakeUsableAsync(
            3_100_000_000, runAsRoot: false, "Test", "Python", cancelled.Token));
        using var again = IsolationIdBlock.Take(3_100_000_000, "Test:IsolationIdBase");

        Assert.Equal(3_100_000_000u, again.First);
    }

    public void Dispose() => _parent.Delete(recursive: true);

    private static void RequireRoot() => Assert.True(
        Environment.IsPrivilegedProcess,
        "This test needs root, as CI runs it: only a host running as root isolates R.");

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(program, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
