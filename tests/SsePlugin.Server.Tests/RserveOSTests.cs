using SsePlugin.Rserve;
using SsePlugin.R;

namespace SsePlugin.Server.Tests;

/// <summary>
/// Whether each R call gets an R process of its own follows the system Rserve runs on, as R names it on a connection,
/// not the host's: Rserve forks everywhere but on Windows.
/// </summary>
public sealed class RserveOSTests
{
    [Fact]
    public async Task An_Rserve_on_Linux_names_unix_and_gives_each_call_a_fresh_process()
    {
        await using var rserve = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        await using var connection = await RserveConnection.ConnectAsync(
            new RserveConnectionOptions { Port = rserve.Port });

        var os = await RservePlatform.ReadAsync(connection);
        var options = new ROptions { RserveOS = os };

        Assert.Equal("unix", os);
        Assert.True(options.FreshProcesses);
        Assert.Equal(Environment.ProcessorCount, options.Sessions);
    }

    [Fact]
    public void An_Rserve_on_Windows_keeps_its_sessions_whatever_the_hosts_system()
    {
        var options = new ROptions { RserveOS = RservePlatform.Windows };

        Assert.False(options.FreshProcesses);
        Assert.Equal(1, options.Sessions);
        Assert.Equal(4, new ROptions { RserveOS = RservePlatform.Windows, PoolSize = 4 }.Sessions);
    }

    [Fact]
    public void ReuseSessions_keeps_sessions_on_any_system() =>
        Assert.False(new ROptions { RserveOS = "unix", ReuseSessions = true }.FreshProcesses);
}
