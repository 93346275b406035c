using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// A replica drained while a client calls it directly, as Qlik's engine does without a proxy: one HTTP/2 connection,
/// several calls at once on it.
/// </summary>
public sealed partial class DirectDrainTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_direct_client_keeps_calling_through_the_drain_delay_on_new_connections()
    {
        await using var replica = await ReplicaHost.StartAsync();
        using var load = new QlikLikeLoad($"http://{replica.Endpoint}", connections: 1, callersPerConnection: 8);
        using var stop = new CancellationTokenSource();
        var running = load.RunUntilAsync(stop.Token);
        await load.WaitForCompletedAsync(300);
        var linesBefore = replica.CallLines.Count;

        var exited = replica.TerminateAsync();
        var signalled = load.Now;
        while (!replica.Printed.Contains("Stopped taking calls", StringComparison.Ordinal))
        {
            Assert.False(exited.IsCompleted, "The replica exited before it said it stopped taking calls.");
            await Task.Delay(10);
        }

        var stoppedTaking = load.Now;
        await stop.CancelAsync();
        var calls = await running;
        var exitCode = await exited;

        // Every call that ended before the port closed was answered, on connections the client opened again after
        // each call the draining host closed its connection behind.
        var duringDrain = calls.Where(c => c.Started >= signalled && c.Ended < stoppedTaking).ToList();
        var callers = replica.CallLines.Skip(linesBefore).Select(line => Caller().Match(line).Value).Distinct().Count();
        output.WriteLine(
            $"{calls.Count} calls, {duringDrain.Count} during the drain delay "
            + $"({(stoppedTaking - signalled).TotalSeconds:0.0} s), {duringDrain.Count(c => c.Failure is not null)} "
            + $"of them failed; the replica saw {callers} client connections from SIGTERM on; exit code {exitCode}");
        Assert.Equal(0, exitCode);
        Assert.True(duringDrain.Count >= 20, $"Only {duringDrain.Count} calls ran during the drain delay.");
        Assert.All(duringDrain, call => Assert.True(call.Failure is null, $"{call.Id}: {call.Status} {call.Failure}"));
        Assert.True(callers > 1, "The client kept its one connection through the drain.");
    }

    // The caller's address in a call log line: "from ipv4:127.0.0.1:40000:".
    [GeneratedRegex(@"from ipv4:[\d.]+:\d+")]
    private static partial Regex Caller();
}
