using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SsePlugin.R;

namespace SsePlugin.Server.Tests;

/// <summary>
/// SsePlugin:Rserve:Addresses, several Rserves: each address checked as Address is, duplicates, Address beside it and
/// Start with several refused at start, one line each; and the health checks AddR registers for them.
/// </summary>
public sealed class RserveAddressesTests
{
    private const string Addresses = "SsePlugin:Rserve:Addresses";

    [Fact]
    public void Several_addresses_are_read_in_order_and_Address_alone_or_nothing_gives_one()
    {
        Assert.Equal(
            [("10.0.0.5", 6311), ("r2.example.com", 6400)],
            Options((Addresses + ":0", "10.0.0.5:6311"), (Addresses + ":1", "r2.example.com:6400")).Endpoints);
        Assert.Equal([("r1", 6311)], Options(("SsePlugin:Rserve:Address", "r1")).Endpoints);
        Assert.Equal([("127.0.0.1", 6311)], Options().Endpoints);
    }

    [Theory]
    [InlineData("h:1", "h:x", "SsePlugin:Rserve:Addresses:1 is 'h:x'; write host:port, e.g. 127.0.0.1:6311.")]
    [InlineData("", "h:1", "SsePlugin:Rserve:Addresses:0 is empty; write host:port")]
    [InlineData("h:70000", "h:1", "SsePlugin:Rserve:Addresses:0 is 'h:70000'")]
    [InlineData("R1:6311", "r1:6311", "SsePlugin:Rserve:Addresses lists r1:6311 twice; remove one.")]
    public void A_bad_or_repeated_address_stops_the_app_at_start_naming_it(string first, string second, string message)
    {
        var error = Refused((Addresses + ":0", first), (Addresses + ":1", second));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Address_beside_Addresses_stops_the_app_at_start_saying_which_to_keep()
    {
        var error = Refused(("SsePlugin:Rserve:Address", "h:1"), (Addresses + ":0", "h:2"));

        Assert.Contains(
            "SsePlugin:Rserve:Address and SsePlugin:Rserve:Addresses are both set (--rserve sets Address); list every "
                + "Rserve in Addresses and remove Address.",
            error.Message);
    }

    [Fact]
    public void A_host_run_Rserve_takes_one_loopback_address()
    {
        var several = Refused(
            ("SsePlugin:Rserve:Start", "true"), (Addresses + ":0", "127.0.0.1:1"), (Addresses + ":1", "127.0.0.1:2"));
        var remote = Refused(("SsePlugin:Rserve:Start", "true"), (Addresses + ":0", "10.0.0.5:6311"));

        Assert.Contains(
            "SsePlugin:Rserve:Start runs one Rserve on this machine, but SsePlugin:Rserve:Addresses lists 2; give one "
                + "address, or remove Start to use Rserves of your own.",
            several.Message);
        Assert.Contains(
            "SsePlugin:Rserve:Start runs Rserve on this machine's loopback, but SsePlugin:Rserve:Addresses:0 is "
                + "'10.0.0.5:6311'; write 127.0.0.1:PORT.",
            remote.Message);
    }

    [Fact]
    public async Task AddR_registers_a_health_check_over_every_Rserve_and_one_per_Rserve_of_ones_own()
    {
        (string, string) runsR = ("SsePlugin:ScriptEngine", "r");
        await using var services =
            Services(runsR, (Addresses + ":0", "10.0.0.5:6311"), (Addresses + ":1", "10.0.0.6:6311"));
        await using var hostRun = Services(runsR, ("SsePlugin:Rserve:Start", "true"));
        await using var noR = Services(runsR, ("SsePlugin:AllowScript", "false"), (Addresses + ":0", "10.0.0.5:6311"));

        // The server's own check (draining) is registered too; R's are those tagged r.
        var checks = services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Where(check => check.Tags.Contains("r"));
        var hostRunChecks = hostRun.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Where(check => check.Tags.Contains("r"));

        Assert.Equal(
            [
                ("rserve", "r"),
                ("rserve:10.0.0.5:6311", "detail r"),
                ("rserve:10.0.0.6:6311", "detail r"),
            ],
            checks.Select(check => (check.Name, string.Join(' ', check.Tags.Order()))));
        Assert.Equal(["rserve"], hostRunChecks.Select(check => check.Name));

        // No connection runs R scripts (scripts off, no functions file): no Rserve is checked.
        Assert.DoesNotContain(
            noR.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations,
            check => check.Tags.Contains("r"));
    }

    [Fact]
    public void An_Rserve_is_down_from_a_failed_connection_until_one_succeeds_each_change_reported_once()
    {
        var address = new RserveAddress("r1", 6311);

        Assert.Null(address.Problem);
        Assert.True(address.MarkDown("refused"));
        Assert.False(address.MarkDown("refused again"));
        Assert.Equal("refused again", address.Problem);
        Assert.True(address.MarkUp());
        Assert.False(address.MarkUp());
        Assert.Null(address.Problem);
    }

    private static ROptions Options(params (string Key, string Value)[] settings)
    {
        using var services = Services(settings);
        return services.GetRequiredService<IOptions<ROptions>>().Value;
    }

    private static OptionsValidationException Refused(params (string Key, string Value)[] settings)
    {
        using var services = Services(settings);
        return Assert.Throws<OptionsValidationException>(
            () => services.GetRequiredService<IStartupValidator>().Validate());
    }

    // An app's services as library mode registers them, with the given settings.
    private static ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(
            new ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
                .Build());
        services.AddLogging().AddSsePlugin().AddR();
        return services.BuildServiceProvider();
    }
}
