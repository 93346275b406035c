using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Rserve;

namespace SsePlugin.FunctionalTests.R;

/// <summary>A real Rserve on a free loopback port, and a host whose scripts run in it.</summary>
public sealed class RHostFixture : IAsyncLifetime
{
    /// <summary>R code every new session runs: the init script.</summary>
    public const string InitScript = "times10 <- function(x) x * 10; f <- 'kept'";

    private TestHost? _host;

    public RserveProcess Rserve { get; private set; } = null!;

    internal SseClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        Rserve = await RserveProcess.StartAsync(new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        _host = await StartHostAsync(Rserve.Port, "--SsePlugin:Rserve:InitScript", InitScript);
    }

    /// <summary>
    /// Starts a host whose scripts run in R on the given port: four sessions, a 10 s limit per call (a loaded machine
    /// may take seconds to fork a fresh R process for every call).
    /// </summary>
    public static Task<TestHost> StartHostAsync(int rservePort, params string[] args) => TestHost.StartAsync(
    [
        "--script-engine", "r", "--rserve", $"127.0.0.1:{rservePort}", "--SsePlugin:Rserve:PoolSize", "4",
        "--SsePlugin:Rserve:TimeoutSeconds", "10", .. args,
    ]);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await Rserve.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedRHost : ICollectionFixture<RHostFixture>
{
    public const string Name = "R host";
}
