using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Client;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Testing;

/// <summary>
/// Functions served in this process by a real SsePlugin host (library mode: the same checks, limits and wire as the
/// console host), on a free loopback port, with a <see cref="Client"/> that calls them as Qlik's engine does.
/// </summary>
/// <example>
/// An xunit test of a function <c>[SseFunction(100, SseFunctionType.Tensor)] Margin(double sales, double cost)</c>:
/// <code>
/// [Fact]
/// public async Task Margin_is_the_share_of_sales_kept()
/// {
///     await using var host = await SseTestHost.StartAsync(sse => sse.AddFunctions(typeof(MarginFunctions)));
///     var answer = await host.Client.ExecuteAsync(100, [1000, 600], [0, 5]);
///     Assert.Equal([0.4, double.NaN], answer.Numbers());
/// }
/// </code>
/// </example>
public sealed class SseTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<SseClient> _clients = [];

    private SseTestHost(WebApplication app, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Addresses = addresses;
        Client = Connect();
    }

    /// <summary>Gets where the host listens, e.g. <c>http://127.0.0.1:40123</c>: its main connection's port.</summary>
    public Uri Address => Addresses[0];

    /// <summary>Gets the address of every port the host listens on, one per analytic connection.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>Gets a client of <see cref="Address"/>.</summary>
    public SseClient Client { get; }

    /// <summary>Gets the host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a host on a free loopback port (its admin endpoint too) with the functions and engines
    /// <paramref name="configure"/> adds (<c>AddFunctions</c>, <c>AddJavaScript</c>, <c>AddFunctionsFiles</c>, ...)
    /// and waits until it listens.
    /// </summary>
    /// <param name="configure">Adds the functions and engines, as in the app's <c>AddSsePlugin()</c> chain.</param>
    /// <param name="settings">
    /// Configuration keys, as in appsettings.json, e.g. <c>["SsePlugin:AllowScript"] = "false"</c>; optional.
    /// </param>
    /// <returns>The started host.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A setting is wrong.</exception>
    /// <exception cref="InvalidOperationException">A function is wrong: the message names it and the fix.</exception>
    public static async Task<SseTestHost> StartAsync(
        Action<ISsePluginBuilder> configure, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        // Free ports unless the settings name them: tests run side by side, and beside an installed host.
        configure(builder.Services.AddSsePlugin(options =>
        {
            options.Port = Given(settings, "Port") ? options.Port : 0;
            options.Admin.Port = Given(settings, "Admin:Port") ? options.Admin.Port : 0;
        }));
        var app = builder.Build();
        app.MapSsePlugin();
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var server = app.Services.GetRequiredService<IServer>();
        var addresses = server.Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new SseTestHost(app, [.. addresses.Select(address => new Uri(address))]);
    }

    /// <summary>Opens another client, of <paramref name="address"/> (default: <see cref="Address"/>).</summary>
    /// <param name="address">One of <see cref="Addresses"/>.</param>
    /// <param name="handler">The HTTP handler, e.g. with TLS options; optional.</param>
    /// <returns>The client, disposed with the host.</returns>
    public SseClient Connect(Uri? address = null, HttpMessageHandler? handler = null)
    {
        var client = new SseClient(address ?? Address, handler);
        _clients.Add(client);
        return client;
    }

    /// <summary>Stops the host and closes its clients.</summary>
    /// <returns>A task that completes when the host has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        _clients.ForEach(client => client.Dispose());
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static bool Given(IReadOnlyDictionary<string, string?>? settings, string key) =>
        settings?.ContainsKey($"{SsePluginOptions.Section}:{key}") == true;
}
