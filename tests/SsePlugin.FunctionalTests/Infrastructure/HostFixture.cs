using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qlik.Sse;
using SsePlugin.Host;
using SsePlugin.Server;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>A real host on a real loopback socket (Kestrel, port 0) and a client connected to it.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly List<GrpcChannel> _channels = [];

    private TestHost(WebApplication app, IReadOnlyList<string> addresses)
    {
        _app = app;
        Addresses = addresses;
        Client = Connect(addresses[0]);
    }

    /// <summary>Gets the client of the first (main) port.</summary>
    public Connector.ConnectorClient Client { get; }

    /// <summary>Gets the address of every port the host listens on, one per analytic connection.</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>Opens a client to one of <see cref="Addresses"/>.</summary>
    public Connector.ConnectorClient Connect(string address) => new(OpenChannel(address));

    /// <summary>Opens a channel to one of <see cref="Addresses"/>, receiving at most what Qlik's engine does (4 MiB a message).</summary>
    public GrpcChannel OpenChannel(string address, HttpMessageHandler? handler = null)
    {
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 4 * 1024 * 1024, HttpHandler = handler });
        _channels.Add(channel);
        return channel;
    }

    /// <summary>Starts the host with the example and test functions and the given extra arguments.</summary>
    public static async Task<TestHost> StartAsync(params string[] args)
    {
        var app = SsePluginHost.Build(
            ["--port", "0", "--Serilog:MinimumLevel:Default", "Warning", .. args],
            services => services.AddSseFunctions<TestFunctions>());
        SsePluginHost.Announce(app);
        await app.StartAsync();
        return new TestHost(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList());
    }

    public async ValueTask DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The host shared by most tests, with small script limits so that runaway scripts end quickly.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    private TestHost? _host;

    public TestHost Host => _host!;

    public Connector.ConnectorClient Client => _host!.Client;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(
        "--SsePlugin:JavaScript:TimeoutSeconds", "5",
        "--SsePlugin:JavaScript:MaxStatements", "10000000",
        "--SsePlugin:JavaScript:MemoryLimitMegabytes", "64");

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedHost : ICollectionFixture<HostFixture>
{
    public const string Name = "host";
}
