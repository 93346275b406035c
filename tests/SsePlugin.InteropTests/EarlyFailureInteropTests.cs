using System.Text.Json;
using Xunit;

namespace SsePlugin.InteropTests;

/// <summary>
/// Qlik's engine makes every call on one HTTP/2 connection, so calls that fail at once while their client still has
/// rows to send (early_failures.py) must leave that connection healthy for the valid calls among them.
/// </summary>
public sealed class EarlyFailureInteropTests(InteropFixture plugin) : IClassFixture<InteropFixture>
{
    [Fact]
    public async Task Two_thousand_early_failures_among_valid_calls_on_one_connection_fail_no_valid_call()
    {
        var printed = await plugin.RunClientAsync("early_failures.py", "2000");
        using var result = JsonDocument.Parse(printed);
        var root = result.RootElement;

        Assert.Equal(1000, root.GetProperty("counts").GetProperty("valid").GetInt32());
        Assert.True(root.GetProperty("validFailedCount").GetInt32() == 0, $"Valid calls failed: {printed}");
        Assert.True(
            root.GetProperty("wrongStatusCount").GetInt32() == 0,
            $"Failing calls got another status than intended: {printed}");
    }
}
