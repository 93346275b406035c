using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Client;
using SsePlugin.Testing;

namespace SsePluginFunctions.Tests;

/// <summary>
/// Calls the functions as Qlik's engine does: a real SsePlugin host on a free loopback port, rows sent as Qlik bundles
/// them, the answer read as Qlik reads it.
/// </summary>
public sealed class MarginFunctionsTests : IAsyncLifetime
{
    private SseTestHost? _host;

    private SseClient Qlik => _host!.Client;

    public async Task InitializeAsync() =>
        _host = await SseTestHost.StartAsync(sse => sse.AddFunctions(typeof(MarginFunctions)));

    public async Task DisposeAsync() => await _host!.DisposeAsync();

    [Fact]
    public async Task Qlik_sees_the_functions_with_their_parameters()
    {
        var capabilities = await Qlik.GetCapabilitiesAsync();

        Assert.Equal(["sales", "cost"], capabilities["Margin"].Parameters.Select(p => p.Name));
        Assert.Equal(MarginFunctions.TotalMarginId, capabilities["TotalMargin"].Id);
    }

    [Fact]
    public async Task Margin_is_the_share_kept_per_row_and_null_without_sales()
    {
        var answer = await Qlik.ExecuteAsync(MarginFunctions.MarginId, [1000, 600], [0, 5], [200, 250]);

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal([0.4, double.NaN, -0.25], answer.Numbers());
    }

    [Fact]
    public async Task TotalMargin_answers_one_row_for_rows_in_several_bundles()
    {
        var rows = Enumerable.Range(1, 1000).Select(i => new SseValue[] { 10.0 * i, 6.0 * i });

        var answer = await Qlik.ExecuteAsync(
            MarginFunctions.TotalMarginId, SseBundle.Split(rows, rowsPerBundle: 300), options: null);

        Assert.Equal(0.4, Assert.Single(answer.Numbers()), precision: 12);
    }
}
