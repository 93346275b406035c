using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Commands;

namespace SsePlugin.FunctionalTests;

/// <summary>The doctor reads the plugin's gRPC health service: every service it lists, and why one fails.</summary>
public sealed class DoctorHealthTests
{
    [Fact]
    public async Task A_healthy_plugin_lists_the_plugin_each_connection_and_each_check_as_serving()
    {
        await using var host = await TestHost.StartAsync("--SsePlugin:Connections:Other:Port", "0");

        var (exitCode, output) = await DoctorAsync(host.Address);

        Assert.True(exitCode == ExitCodes.Ok, output);
        Assert.Contains(
            "[ok] Health (grpc.health.v1): the plugin SERVING, draining SERVING, main SERVING, Other SERVING.", output);
    }

    [Fact]
    public async Task An_Rserve_address_that_does_not_answer_is_a_problem_with_its_fix()
    {
        // A connection running R, its Rserve on a port where none listens.
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:ScriptEngine", "r", "--SsePlugin:Rserve:Address", "127.0.0.1:6399");

        var (exitCode, output) = await DoctorAsync(host.Address);

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains(
            "Health (grpc.health.v1): the plugin NOT_SERVING, draining SERVING, main NOT_SERVING, "
                + "rserve NOT_SERVING, rserve:127.0.0.1:6399 NOT_SERVING.",
            output);
        Assert.Contains("[problem] main answers NOT_SERVING", output);
        Assert.Contains("[problem] 127.0.0.1:6399: Rserve does not answer there;", output);
        Assert.Contains("3 problem(s) found.", output);
    }

    [Fact]
    public async Task A_draining_plugin_is_one_problem_with_its_cause()
    {
        await using var host = await ChildHost.StartAsync("--SsePlugin:DrainDelaySeconds", "600");
        await host.SignalAsync("TERM");
        await host.WaitForLineAsync("SIGTERM again stops taking them at once)");

        var (exitCode, output) = await DoctorAsync(new Uri(host.Address));

        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("[problem] The plugin is stopping (draining)", output);
        Assert.Contains("1 problem(s) found.", output);
        await host.SignalAsync("TERM");
        Assert.Equal(0, await host.WaitForExitAsync());
    }

    [Fact]
    public async Task A_plugin_without_the_health_service_is_not_a_problem()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<CapabilitiesOnly>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;

        var (exitCode, output) = await DoctorAsync(new Uri(address.Single()));
        await app.StopAsync();

        Assert.True(exitCode == ExitCodes.Ok, output);
        Assert.Contains("The plugin offers no gRPC health service (grpc.health.v1)", output);
    }

    private static async Task<(int ExitCode, string Output)> DoctorAsync(Uri address)
    {
        using var output = new StringWriter();
        var exitCode = await new HostCommandLine().InvokeAsync(
            ["doctor", "--host", address.Host, "--port", $"{address.Port}"], output);
        return (exitCode, output.ToString());
    }

    /// <summary>
    /// An SSE plugin that is not SsePlugin: it answers GetCapabilities and serves nothing else. grpc-dotnet requires
    /// the handlers to be virtual methods of the bound type, hence the unsealed class.
    /// </summary>
    [BindServiceMethod(typeof(CapabilitiesOnly), nameof(BindService))]
#pragma warning disable CA1852
    internal class CapabilitiesOnly
#pragma warning restore CA1852
    {
        private static readonly Method<Empty, Capabilities> GetCapabilitiesMethod = new(
            MethodType.Unary,
            "qlik.sse.Connector",
            "GetCapabilities",
            Marshallers.Create(static m => m.ToByteArray(), Empty.Parser.ParseFrom),
            Marshallers.Create(static m => m.ToByteArray(), Capabilities.Parser.ParseFrom));

        public static void BindService(ServiceBinderBase binder, CapabilitiesOnly? service) =>
            binder.AddMethod(GetCapabilitiesMethod, service is null ? null : service.GetCapabilities);

        public virtual Task<Capabilities> GetCapabilities(Empty request, ServerCallContext context) =>
            Task.FromResult(new Capabilities { PluginIdentifier = "Other", AllowScript = true });
    }
}
