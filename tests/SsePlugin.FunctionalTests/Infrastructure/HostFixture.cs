using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SsePlugin.Client;
using SsePlugin.Host;
using SsePlugin.Server.Hosting;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>A real host on a real loopback socket (Kestrel, port 0) and a client connected to it.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<GrpcChannel> _channels = [];
    private readonly List<SseClient> _clients = [];

    private TestHost(WebApplication app, IReadOnlyList<Uri> addresses, Uri? adminAddress)
    {
        _app = app;
        Addresses = addresses;
        AdminAddress = adminAddress;
        Client = Connect(handler: null);
    }

    /// <summary>
    /// Gets where the host listens, e.g. <c>http://127.0.0.1:40123</c> (<c>https</c> with <c>--certs</c>): its main
    /// port.
    /// </summary>
    public Uri Address => Addresses[0];

    /// <summary>Gets the address of every port the host listens on, one per analytic connection.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>Gets the admin endpoint's address (status page, <c>/metrics</c>); none when it is off.</summary>
    public Uri? AdminAddress { get; }

    /// <summary>Gets the host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Gets a client of <see cref="Address"/>.</summary>
    internal SseClient Client { get; }

    /// <summary>Starts the host with the example and test functions and the given extra arguments.</summary>
    public static Task<TestHost> StartAsync(params string[] args) => StartAsync(args, configure: null);

    /// <summary>
    /// Starts the host with the example and test functions, the given extra arguments and more services.
    /// </summary>
    public static async Task<TestHost> StartAsync(string[] args, Action<ISsePluginBuilder>? configure)
    {
        var app = SsePluginHost.Build(
            ["--port", "0", "--Serilog:MinimumLevel:Default", "Warning", "--SsePlugin:DrainDelaySeconds", "0", .. args],
            sse =>
            {
                sse.AddFunctions<TestFunctions>();
                configure?.Invoke(sse);
            });
        SsePluginHost.Announce(app);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).ToList();
        // Kestrel lists the admin endpoint after the analytic connections.
        return app.Services.GetRequiredService<IOptions<SsePluginOptions>>().Value.Admin.Enabled
            ? new TestHost(app, addresses[..^1], addresses[^1])
            : new TestHost(app, addresses, adminAddress: null);
    }

    /// <summary>
    /// A client on a channel of its own to <paramref name="address"/> (default: <see cref="Address"/>) through the
    /// handler (default: the channel's own).
    /// </summary>
    internal SseClient Connect(HttpMessageHandler? handler, Uri? address = null)
    {
        var client = new SseClient(address ?? Address, handler);
        _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Opens a channel to one of <see cref="Addresses"/>, receiving at most what Qlik's engine does (4 MiB a message).
    /// </summary>
    public GrpcChannel OpenChannel(Uri address, HttpMessageHandler? handler = null)
    {
        var options = new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        };
        var channel = GrpcChannel.ForAddress(address, options);
        _channels.Add(channel);
        return channel;
    }

    public async ValueTask DisposeAsync()
    {
        _channels.ForEach(channel => channel.Dispose());
        _clients.ForEach(client => client.Dispose());
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The host shared by most tests, with small script limits so that runaway scripts end quickly.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    private TestHost? _host;

    public TestHost Host => _host!;

    internal SseClient Client => _host!.Client;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(
        "--SsePlugin:JavaScript:TimeoutSeconds", "5",
        "--SsePlugin:JavaScript:MaxStatements", "1000000",
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
