using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Host;
using Xunit.Abstractions;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// What an administrator sees of a running host: the status page in Debian's chromium (driven by playwright-core), and
/// the call counter in Debian's Prometheus scraping the admin endpoint, with its token.
/// </summary>
public sealed class ObservabilityTests(ITestOutputHelper output)
{
    private const string Token = "prometheus-scrapes-with-this";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_status_page_lists_the_functions_charts_new_calls_and_shows_a_failed_call_s_message()
    {
        await using var host = await StartHostAsync();
        var browser = Path.Combine(AppContext.BaseDirectory, "browser");
        if (!Directory.Exists(Path.Combine(browser, "node_modules")))
        {
            var install = await RunToExitAsync("npm", ["ci", "--no-audit", "--no-fund"], browser);
            Assert.True(install.ExitCode == 0, $"npm ci failed:\n{install.Output}");
        }

        var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "status-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        using var node = Start("node", ["status-page.mjs", host.Admin.ToString(), screenshot], browser);
        var errors = node.StandardError.ReadToEndAsync();
        var loaded = await ReadLineAsync(node, "LOADED ", errors);
        using (var load = new QlikLikeLoad(host.Sse.ToString(), connections: 1, callersPerConnection: 2))
        {
            await load.RunAsync(12);
            var failed = await load.CallScriptAsync("throw new Error('the chart failed on purpose')");
            Assert.NotEqual(Grpc.Core.StatusCode.OK, failed.Status);
        }

        await node.StandardInput.WriteLineAsync("go");
        var result = JsonDocument.Parse(await ReadLineAsync(node, "RESULT ", errors)).RootElement;
        output.WriteLine($"Screenshot of the status page: {screenshot}");

        Assert.Equal("0", loaded);
        Assert.Contains("SumOfRows", result.GetProperty("functions").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("<Alias>.SumOfRows(col1, col2)", result.GetProperty("syntax").GetString());
        Assert.True(result.GetProperty("callsAfter").GetDouble() >= 13, result.ToString());
        Assert.Equal(3, result.GetProperty("charts").GetInt32());
        Assert.Contains(
            result.GetProperty("errors").EnumerateArray(),
            row => row.GetString()!.Contains("the chart failed on purpose", StringComparison.Ordinal));
        Assert.Empty(result.GetProperty("problems").EnumerateArray());
        Assert.True(File.Exists(screenshot));
    }

    [Fact]
    public async Task Prometheus_scraping_the_admin_endpoint_with_its_token_returns_a_function_s_call_counter()
    {
        await using var host = await StartHostAsync("--admin-bind", "0.0.0.0", "--SsePlugin:Admin:Token", Token);
        var folder = Directory.CreateTempSubdirectory("sseplugin-prometheus-");
        var port = FreePort();
        var config = Path.Combine(folder.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: sseplugin
                authorization:
                  credentials: {Token}
                static_configs:
                  - targets: ["127.0.0.1:{host.Admin.Port}"]
            """);
        using var prometheus = Start(
            "prometheus",
            [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder.FullName, "data")}",
                $"--web.listen-address=127.0.0.1:{port}"],
            folder.FullName);
        var prometheusLog = prometheus.StandardError.ReadToEndAsync();
        try
        {
            int answered;
            using (var load = new QlikLikeLoad(host.Sse.ToString(), connections: 1, callersPerConnection: 2))
            {
                var outcomes = await load.RunAsync(9);
                answered = outcomes.Count(call => call is { Function: "SumOfRows", Status: Grpc.Core.StatusCode.OK });
            }

            using var http = new HttpClient();
            var query = $"http://127.0.0.1:{port}/api/v1/query?query="
                + Uri.EscapeDataString("sum(sseplugin_calls_total{function=\"SumOfRows\",status=\"OK\"})");
            var stopAt = DateTime.UtcNow + Patience;
            var counted = 0.0;
            while (counted < answered && DateTime.UtcNow < stopAt)
            {
                await Task.Delay(500);
                counted = await QueryAsync(http, query);
            }

            Assert.True(
                answered > 0 && counted == answered, $"Prometheus counted {counted} SumOfRows calls, not {answered}.");
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            _ = await prometheusLog;
            folder.Delete(recursive: true);
        }
    }

    // The query's one value, 0 while Prometheus has none (not yet scraped, or the target down).
    private static async Task<double> QueryAsync(HttpClient http, string query)
    {
        try
        {
            using var answer = JsonDocument.Parse(await http.GetStringAsync(new Uri(query)));
            var result = answer.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0
                ? 0
                : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task<ObservedHost> StartHostAsync(params string[] args)
    {
        var app = SsePluginHost.Build(
        [
            "--port", "0", "--admin-port", "0", "--examples", "true", "--Serilog:MinimumLevel:Default", "Warning",
            "--SsePlugin:DrainDelaySeconds", "0", .. args,
        ]);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(address => new UriBuilder(address) { Host = "127.0.0.1" }.Uri).ToList();
        // Kestrel lists the admin endpoint after the analytic connection.
        return new ObservedHost(app, addresses[0], addresses[^1]);
    }

    private static Process Start(string program, string[] args, string folder) => Process.Start(
        new ProcessStartInfo(program, args)
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;

    private static async Task<(int ExitCode, string Output)> RunToExitAsync(
        string program, string[] args, string folder)
    {
        using var process = Start(program, args, folder);
        var printed = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await printed + await errors);
    }

    // The rest of the node script's first line that starts with the prefix; its errors if it ends before one.
    private static async Task<string> ReadLineAsync(Process node, string prefix, Task<string> errors)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (await node.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }

        Assert.Fail($"The browser script ended before '{prefix}': {await errors}");
        return "";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ObservedHost(WebApplication app, Uri sse, Uri admin) : IAsyncDisposable
    {
        public Uri Sse { get; } = sse;

        public Uri Admin { get; } = admin;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
