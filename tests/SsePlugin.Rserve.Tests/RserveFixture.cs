namespace SsePlugin.Rserve.Tests;

/// <summary>
/// One Rserve on a free loopback port for the whole test collection; every connection gets its own R session.
/// </summary>
public sealed class RserveFixture : IAsyncLifetime
{
    private RserveProcess? _server;

    public RserveProcess Server => _server ?? throw new InvalidOperationException("Rserve has not started.");

    public async Task InitializeAsync() =>
        _server = await RserveProcess.StartAsync(new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public Task<RserveConnection> ConnectAsync() =>
        RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = Server.Port });
}

[CollectionDefinition(Name)]
public sealed class SharedRserve : ICollectionFixture<RserveFixture>
{
    public const string Name = "Rserve";
}
