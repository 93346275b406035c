using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using SsePlugin.FunctionalTests.Infrastructure;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The admin endpoint, through real HTTP/1.1 requests: the call counter in Prometheus' format, the status API's
/// history and last errors, health, the token rule and its port.
/// </summary>
public sealed partial class AdminEndpointTests
{
    private const string Token = "s3cret-Token";

    [Fact]
    public async Task Metrics_count_each_function_s_calls_by_status_and_the_status_api_shows_them_and_their_errors()
    {
        // The calls go to a connection of a name no other test uses: hosts in one process share the meter.
        await using var host = await TestHost.StartAsync(
            "--admin-port", "0", "--SsePlugin:Connections:Counted:Port", "0");
        using var http = new HttpClient { BaseAddress = host.AdminAddress };
        var client = host.Connect(handler: null, host.Addresses[1]);

        for (var i = 0; i < 3; i++)
        {
            await client.ExecuteAsync(101, Bundle([Numeric(1), Numeric(2)]));
        }

        var failed = await FailsAsync(() => client.ExecuteAsync(101, Bundle([Numeric(-1)])));
        var metrics = await http.GetStringAsync("/metrics");
        using var status = JsonDocument.Parse(await http.GetStringAsync("/api/status"));

        Assert.Equal(StatusCode.Unknown, failed.StatusCode);
        Assert.Equal(3, Counter(metrics, "RejectNegative", "OK"));
        Assert.Equal(1, Counter(metrics, "RejectNegative", "Unknown"));
        Assert.Contains("sseplugin_call_duration_seconds_bucket{", metrics);
        // Rows by function: two read and answered per OK call, and the one the failed call read.
        Assert.Equal(7, Counted(metrics, "sseplugin_call_rows_in_sum", "RejectNegative"));
        Assert.Equal(6, Counted(metrics, "sseplugin_call_rows_out_sum", "RejectNegative"));
        Assert.Contains("kestrel_active_connections", metrics);
        // Kestrel's count of queued HTTP/2 streams, recorded twice per call, is left out.
        Assert.DoesNotContain("kestrel_queued_requests", metrics);
        Assert.Contains("dotnet_gc_collections_total", metrics);
        Assert.DoesNotContain("user", Regex.Match(metrics, "sseplugin_calls_total\\{[^}]*\\}").Value);
        var root = status.RootElement;
        var series = root.GetProperty("series").EnumerateArray().Single(s =>
            s.GetProperty("function").GetString() == "RejectNegative"
            && s.GetProperty("connection").GetString() == "Counted");
        Assert.Equal(4, series.GetProperty("calls").EnumerateArray().Sum(calls => calls.GetInt32()));
        Assert.Equal(1, series.GetProperty("errors").EnumerateArray().Sum(e => e.GetInt32()));
        var error = root.GetProperty("errors")[0];
        Assert.Equal("RejectNegative", error.GetProperty("function").GetString());
        Assert.Contains("negative values are not allowed", error.GetProperty("message").GetString());
        Assert.Contains(
            root.GetProperty("connections")[0].GetProperty("functions").EnumerateArray(),
            f => f.GetProperty("syntax").GetString() == "<Alias>.SumOfRows(col1, col2)");
    }

    [Fact]
    public async Task Health_and_readiness_answer_as_the_grpc_health_service_and_the_page_is_served()
    {
        await using var host = await TestHost.StartAsync("--admin-port", "0");
        using var http = new HttpClient { BaseAddress = host.AdminAddress };

        var healthz = await http.GetAsync("/healthz");
        var readyz = await http.GetAsync("/readyz");
        var page = await http.GetStringAsync("/");
        var chart = await http.GetAsync("/uPlot.iife.min.js");
        var missing = await http.GetAsync("/nothing.js");

        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal("SERVING\n", await readyz.Content.ReadAsStringAsync());
        Assert.Contains("<script src=\"status.js\">", page);
        Assert.Equal("text/javascript", chart.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Bound_beyond_loopback_every_request_needs_the_token_from_127_0_0_1_too()
    {
        await using var host = await TestHost.StartAsync(
            "--admin-port", "0", "--admin-bind", "0.0.0.0", "--SsePlugin:Admin:Token", Token);
        var loopback = new UriBuilder(host.AdminAddress!) { Host = "127.0.0.1" }.Uri;
        using var http = new HttpClient { BaseAddress = loopback };
        string[] paths = ["/", "/metrics", "/healthz", "/readyz", "/api/status", "/status.js"];

        var without = await Task.WhenAll(paths.Select(path => http.GetAsync(path)));
        var wrong = await SendAsync(http, "/metrics", new AuthenticationHeaderValue("Bearer", "wrong"));
        var bearer = await SendAsync(http, "/metrics", new AuthenticationHeaderValue("Bearer", Token));
        var basic = await SendAsync(http, "/api/status", new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{Token}"))));

        Assert.All(without, response => Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode));
        Assert.Contains(without[0].Headers.WwwAuthenticate, challenge => challenge.Scheme == "Basic");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, basic.StatusCode);
    }

    [Fact]
    public async Task Bound_beyond_loopback_without_a_token_or_certificates_the_host_refuses_to_start_naming_the_fix()
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--admin-port", "0", "--admin-bind", "0.0.0.0");

        Assert.Equal(2, exitCode);
        Assert.Contains("The admin endpoint would listen on 0.0.0.0 (--admin-bind) with no token", printed);
        Assert.Contains("Fix: set SsePlugin:Admin:Token", printed);
        Assert.DoesNotContain("   at ", printed);
    }

    [Fact]
    public async Task A_taken_admin_port_stops_the_executable_naming_it_and_admin_routes_are_not_on_sse_ports()
    {
        await using var host = await TestHost.StartAsync("--admin-port", "0");
        var adminPort = host.AdminAddress!.Port.ToString(CultureInfo.InvariantCulture);
        using var http2 = new HttpClient
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var (exitCode, printed) = await HostProcess.RunToExitAsync("--port", "0", "--admin-port", adminPort);
        var onSsePort = await http2.GetAsync(new Uri(host.Address, "/metrics"));

        Assert.Equal(2, exitCode);
        Assert.Contains($"127.0.0.1:{adminPort}: address already in use", printed);
        Assert.Contains("--admin-port", printed);
        Assert.Equal(HttpStatusCode.NotFound, onSsePort.StatusCode);
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_held_call_is_in_flight_and_one_over_max_concurrent_calls_is_counted_as_refused()
    {
        await using var host = await TestHost.StartAsync(
            "--admin-port", "0", "--SsePlugin:MaxConcurrentCalls", "1");
        using var http = new HttpClient { BaseAddress = host.AdminAddress };
        using var timeout = new CancellationTokenSource(CallTimeout);

        // Admitted at its headers, the call waits for rows that never come.
        using var held = host.Client.Connector.ExecuteFunction(Headers(5), cancellationToken: timeout.Token);
        await Task.Delay(200);
        var refused = await FailsAsync(() => host.Client.ExecuteAsync(5, Bundle([Numeric(1, 2)])));
        // The exporter may answer a scrape from its cache for a moment; hosts in one process share the meter, so
        // other tests' calls may count too.
        var metrics = "";
        while (!timeout.IsCancellationRequested
            && (Value(metrics, "sseplugin_calls_refused_total") < 1 || Value(metrics, "sseplugin_calls_in_flight") < 1))
        {
            await Task.Delay(100);
            metrics = await http.GetStringAsync("/metrics");
        }

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.True(Value(metrics, "sseplugin_calls_refused_total") >= 1, metrics);
        Assert.True(Value(metrics, "sseplugin_calls_in_flight") >= 1, metrics);
    }

    [Fact]
    public async Task With_certs_the_admin_port_needs_a_root_client_certificate_and_refused_handshakes_are_counted()
    {
        using var certificates = new TestCertificates();
        await using var host = await TestHost.StartAsync(
            "--admin-port", "0", "--admin-bind", "0.0.0.0", "--certs", TestCertificates.Plugin(certificates.Trusted));
        var admin = new UriBuilder(host.AdminAddress!) { Host = "localhost" }.Uri;
        var options = TlsHostFixture.QlikFolder(certificates.Trusted).ClientOptions("localhost");
        using var withCertificate = new HttpClient(new SocketsHttpHandler { SslOptions = options });
        using var withoutCertificate = new HttpClient(new SocketsHttpHandler
        {
            // Trusts the host as Qlik does, but presents no certificate.
            SslOptions = { TargetHost = "localhost", RemoteCertificateValidationCallback =
                options.RemoteCertificateValidationCallback },
        });

        // A plaintext client on Qlik's TLS port: no handshake.
        using (var plaintext = new HttpClient())
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(
                () => plaintext.GetAsync(new UriBuilder(host.Address) { Scheme = "http" }.Uri));
        }

        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(
            () => withoutCertificate.GetAsync(new Uri(admin, "/metrics")));
        var metrics = await withCertificate.GetStringAsync(new Uri(admin, "/metrics"));

        Assert.Equal("https", admin.Scheme);
        Assert.NotNull(refused);
        Assert.True(Value(metrics, "sseplugin_tls_handshakes_refused_total") >= 1, metrics);
    }

    [Fact]
    public async Task With_metrics_off_calls_are_neither_counted_nor_charted()
    {
        await using var host = await TestHost.StartAsync("--admin-port", "0", "--SsePlugin:Metrics:Enabled", "false");
        using var http = new HttpClient { BaseAddress = host.AdminAddress };

        await host.Client.ExecuteAsync(101, Bundle([Numeric(1)]));
        var metrics = await http.GetStringAsync("/metrics");
        using var status = JsonDocument.Parse(await http.GetStringAsync("/api/status"));

        Assert.DoesNotContain("sseplugin_calls_total", metrics);
        Assert.DoesNotContain("kestrel_", metrics);
        Assert.Empty(status.RootElement.GetProperty("series").EnumerateArray());
    }

    private static async Task<HttpResponseMessage> SendAsync(
        HttpClient http, string path, AuthenticationHeaderValue authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        return await http.SendAsync(request);
    }

    private static double Value(string metrics, string name) => metrics.Split('\n')
        .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal)
            || line.StartsWith(name + " ", StringComparison.Ordinal))
        .Sum(line => double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));

    private static long Counter(string metrics, string function, string status) =>
        Counted(metrics, "sseplugin_calls_total", function, $"status=\"{status}\"");

    // The value of a counter's series of a function on the connection "Counted", with the label given if any.
    private static long Counted(string metrics, string name, string function, string label = "")
    {
        var line = metrics.Split('\n').SingleOrDefault(line =>
            line.StartsWith(name + "{", StringComparison.Ordinal)
            && line.Contains($"function=\"{function}\"", StringComparison.Ordinal)
            && line.Contains(label, StringComparison.Ordinal)
            && line.Contains("connection=\"Counted\"", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }
}
