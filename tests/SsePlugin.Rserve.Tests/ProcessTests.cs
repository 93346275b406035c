using System.Globalization;

namespace SsePlugin.Rserve.Tests;

/// <summary>Starting and stopping Rserve.</summary>
[Collection(SharedRserve.Name)]
public sealed class ProcessTests(RserveFixture rserve)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Dispose_StopsTheServerAndItsSessions()
    {
        await using var server = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        await using var r = await RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = server.Port });
        var session = Assert.IsType<RIntegerVector>(await r.EvalAsync("Sys.getpid()")).Values[0];
        Assert.False(server.HasExited);
        Assert.Contains("Rserve", server.Output, StringComparison.Ordinal);

        await server.DisposeAsync();

        Assert.True(server.Exited.IsCompleted);
        Assert.True(await EndsAsync(session), $"The session's R process {session} outlived the server.");
        await Assert.ThrowsAsync<RserveException>(() => r.EvalAsync("1"));
        await Assert.ThrowsAsync<RserveException>(
            () => RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = server.Port }));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task UnixSocket_TheServerListensThereAlone_Mode0600_AndNotOnThePort()
    {
        var port = RserveProcess.FreeLoopbackPort();
        await using var server = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = port, UnixSocket = true });
        await using var r = await RserveConnection.ConnectAsync(server.ConnectionOptions());
        var answer = await r.EvalAsync("1 + 1");
        var tcp = await Assert.ThrowsAsync<RserveException>(
            () => RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = port }));

        Assert.Equal(2, Assert.IsType<RDoubleVector>(answer).Values[0]);
        Assert.Equal(server.SocketPath, server.Endpoint);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.SocketPath!));
        Assert.Contains($"Cannot connect to Rserve at 127.0.0.1:{port}", tcp.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillProcessGroup_SignalsOnlyTheProcessThatStartedWhenRecorded()
    {
        using var leader = System.Diagnostics.Process.Start("setsid", ["sleep", "300"]);
        try
        {
            var started = await SleepingSinceAsync(leader.Id);

            RserveProcess.KillProcessGroup(leader.Id, started + 1);
            var survived = await SurvivesAsync(leader.Id);
            RserveProcess.KillProcessGroup(leader.Id, started);

            Assert.True(survived, "A process with another start time than the one recorded was killed.");
            Assert.True(await EndsAsync(leader.Id), "The group's leader still runs.");
        }
        finally
        {
            if (!leader.HasExited)
            {
                leader.Kill();
            }
        }
    }

    [Fact]
    public async Task Isolated_EachConnectionRunsUnderAnIdOfItsOwn_AndDisposeEndsEveryProcessOfTheIds()
    {
        RequireRoot();

        // Far from the blocks hosts take (2000000000 on, 16 blocks), so that a host tested meanwhile is not touched.
        const uint idBase = 2_100_000_000;
        var server = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort(), IsolationIdBase = idBase });
        int[] sessions;
        int escaped;
        try
        {
            var connection = new RserveConnectionOptions { Port = server.Port };
            await using var first = await RserveConnection.ConnectAsync(connection);
            await using var second = await RserveConnection.ConnectAsync(connection);
            sessions = [
                Assert.IsType<RIntegerVector>(await first.EvalAsync("Sys.getpid()")).Values[0],
                Assert.IsType<RIntegerVector>(await second.EvalAsync("Sys.getpid()")).Values[0]];
            escaped = int.Parse(
                Assert.IsType<RStringVector>(await first.EvalAsync(
                    "system('setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $!', intern = TRUE)")).Values[0]!,
                CultureInfo.InvariantCulture);
            var ids = sessions.Select(RserveProcess.UserId).ToList();

            Assert.Equal(idBase, RserveProcess.UserId(server.ProcessId));
            Assert.All(ids, id => Assert.InRange(id!.Value, idBase + 1, idBase + RserveProcess.IsolationIds - 1));
            Assert.NotEqual(ids[0], ids[1]);
            Assert.Equal(ids[0], RserveProcess.UserId(escaped));
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.True(await EndsAsync(escaped), $"Process {escaped}, in a session of its own, outlived the server.");
        Assert.All(sessions, pid => Assert.True(ProcessEnded(pid), $"R process {pid} outlived the server."));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task EndUserAsync_EndsEveryProcessOfTheIdAndNoOther_AndDeletesItsFolder()
    {
        RequireRoot();
        const uint id = 2_100_100_001;
        using var first = SleepAs(id);
        using var second = SleepAs(id);
        using var other = SleepAs(id + 1);
        var folder = Directory.CreateTempSubdirectory("sseplugin-end-user-").FullName;
        File.SetUnixFileMode(folder, (UnixFileMode)0x1FF); // rwxrwxrwx, so that the id may empty it
        try
        {
            await SleepingSinceAsync(first.Id);
            await SleepingSinceAsync(second.Id);
            await SleepingSinceAsync(other.Id);

            await RserveProcess.EndUserAsync(id, folder);

            Assert.True(await EndsAsync(first.Id) && await EndsAsync(second.Id), "A process of the id still runs.");
            Assert.True(await SurvivesAsync(other.Id), "A process of another id was killed.");
            Assert.False(Directory.Exists(folder), "The id's folder is left.");
            RserveProcess.KillProcessesOf(id + 1, 1);
            Assert.True(await EndsAsync(other.Id), "Looking through every process, a process of the id was not found.");
        }
        finally
        {
            other.Kill();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder);
            }
        }
    }

    [Fact]
    public async Task PortInUse_IsRefused()
    {
        var error = await Assert.ThrowsAsync<RserveException>(
            () => RserveProcess.StartAsync(new RserveProcessOptions { Port = rserve.Server.Port }));

        Assert.Contains($"Port {rserve.Server.Port} on 127.0.0.1 is in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingRscript_IsAClearError()
    {
        var options = new RserveProcessOptions
        {
            RscriptPath = "/nonexistent/Rscript",
            Port = RserveProcess.FreeLoopbackPort(),
        };

        var error = await Assert.ThrowsAsync<RserveException>(() => RserveProcess.StartAsync(options));

        Assert.Contains("Cannot start '/nonexistent/Rscript'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EarlyExit_ReportsTheOutput()
    {
        var options = new RserveProcessOptions { RscriptPath = "sh", Port = RserveProcess.FreeLoopbackPort() };

        // sh -e "source('.../start.R')" takes the R call for a script file to run, which it cannot open.
        var error = await Assert.ThrowsAsync<RserveException>(() => RserveProcess.StartAsync(options));

        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains("start.R", error.Message, StringComparison.Ordinal);
    }

    // Fails, saying why, unless the tests run as root, as CI runs them.
    private static void RequireRoot() => Assert.True(
        Environment.IsPrivilegedProcess,
        "This test needs root, as CI runs it: only root can isolate R (run tests/run-tests.sh as root).");

    private static System.Diagnostics.Process SleepAs(uint id) => System.Diagnostics.Process.Start(
        "setpriv",
        [$"--reuid={id}", $"--regid={id}", "--clear-groups", "sleep", "300"]);

    private static bool ProcessEnded(int pid) => RserveProcess.UserId(pid) is null;

    // Waits until the process runs sleep (setsid has made it lead a group of its own then); returns its start time.
    private static async Task<long> SleepingSinceAsync(int pid)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (File.ReadAllText($"/proc/{pid}/comm").Trim() != "sleep")
        {
            await Task.Delay(50, timeout.Token);
        }

        return RserveProcess.StartTime(pid) ?? throw new InvalidOperationException($"Process {pid} has ended.");
    }

    // Whether a process ends (or is left a zombie) within half a minute: at once, unless the machine is loaded.
    private static Task<bool> EndsAsync(int pid) => EndsWithinAsync(pid, Patience);

    // Whether a process still runs 2 s on: one that was sent SIGKILL ends within milliseconds.
    private static async Task<bool> SurvivesAsync(int pid) => !await EndsWithinAsync(pid, TimeSpan.FromSeconds(2));

    // Linux only, as the tests are.
    private static async Task<bool> EndsWithinAsync(int pid, TimeSpan patience)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < patience)
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}
