using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qlik.Sse;
using SsePlugin.Host;
using SsePlugin.Server;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>The real host on a real loopback socket (Kestrel, port 0), with the example and test functions.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;

    public Connector.ConnectorClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = SsePluginHost.Build(
            ["--port", "0", "--Serilog:MinimumLevel:Default", "Warning"],
            services => services.AddSseFunctions<TestFunctions>());
        SsePluginHost.CheckAndAnnounce(_app);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 4 * 1024 * 1024 });
        Client = new Connector.ConnectorClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedHost : ICollectionFixture<HostFixture>
{
    public const string Name = "host";
}
