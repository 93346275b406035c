using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Examples;
using SsePlugin.Testing;

namespace SsePlugin.FunctionalTests;

/// <summary>The host a function author's tests start: on free ports, side by side.</summary>
public sealed class SseTestHostTests
{
    [Fact]
    public async Task Hosts_started_side_by_side_take_free_ports_for_their_connections_and_admin_endpoints()
    {
        // Before, each took the admin endpoint's default port, 50050: the second (or a test beside an installed
        // host) failed to start with "address already in use".
        await using var first = await SseTestHost.StartAsync(sse => sse.AddFunctions(typeof(ColumnOperations)));
        await using var second = await SseTestHost.StartAsync(sse => sse.AddFunctions(typeof(ColumnOperations)));

        var capabilities = await second.Client.GetCapabilitiesAsync();
        var answer = await first.Client.ExecuteAsync(capabilities[nameof(ColumnOperations.SumOfRows)].Id, [1, 2.5]);

        Assert.NotEqual(first.Address, second.Address);
        Assert.Equal([3.5], answer.EnsureSucceeded().Numbers(0));
    }
}
