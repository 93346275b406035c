using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Qlik.Sse;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// The downloads build/publish.sh makes: the linux-x64 one runs where no .NET is installed and answers Qlik's calls;
/// each zip holds what an administrator needs and nothing else.
/// </summary>
[Collection(PublishedDownloads.Name)]
public sealed class PublishTests(PublishFixture published)
{
    // A mount namespace of the test's own, where tmpfs hides every .NET installation, and an environment with nothing
    // but a PATH: what a machine without .NET offers the program run by "$0" "$@".
    private const string WithoutDotNet = """
        for folder in /usr/share/dotnet /usr/lib/dotnet /etc/dotnet "$HOME/.dotnet"; do
          [ ! -d "$folder" ] || mount -t tmpfs none "$folder" || exit 97
        done
        exec env -i PATH=/usr/bin:/bin "$0" "$@"
        """;

    private string Executable => Path.Combine(published.Linux, "SsePlugin.Host");

    [Fact]
    public async Task TheTestsBareEnvironment_HasNoDotNet()
    {
        var (exitCode, output) = await PublishFixture.RunAsync(
            "unshare", ["--mount", "--", "/bin/sh", "-c", WithoutDotNet, "dotnet", "--info"], TimeSpan.FromMinutes(1));

        Assert.True(exitCode is not (0 or 97), $"dotnet ran ({exitCode}):\n{output}");
    }

    [Fact]
    public async Task LinuxDownload_WithoutDotNet_AnswersQlik_ThenStopsOnSigtermWithExitCode0()
    {
        // The settings are read beside the executable, whatever the working directory.
        var settingsFile = Path.Combine(published.Linux, "appsettings.json");
        var settings = JsonNode.Parse(await File.ReadAllTextAsync(settingsFile))!;
        settings["SsePlugin"]!["Alias"] = "FromSettings";
        await File.WriteAllTextAsync(settingsFile, settings.ToJsonString());

        await using var host = PublishedHost.Start(
            "unshare", "--mount", "--", "/bin/sh", "-c", WithoutDotNet, Executable, "--port", "0");
        var port = await host.ListeningAsync();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Connector.ConnectorClient(channel);

        var capabilities = await client.GetCapabilitiesAsync(new Empty(), deadline: DateTime.UtcNow.AddMinutes(1));
        Assert.Contains(capabilities.Functions, f => f is { Name: "SumOfRows", FunctionId: 5 });
        Assert.Equal([3, 7.5], await ExecuteAsync(client, functionId: 5, Numbers(1, 2), Numbers(3, 4.5)));
        Assert.Equal(0, await host.StopAsync());
        Assert.Contains($"SsePlugin {published.Version}", host.Printed);

        // Qlik is told the version the banner shows (1.2.4-dev.7 between tags), not the assembly's 3-part one.
        Assert.Equal(published.Version, capabilities.PluginVersion);
        Assert.Contains("FromSettings.SumOfRows(col1, col2)", host.Printed);
    }

    [Fact]
    public async Task LinuxDownload_ServesTheFunctionsOfAFunctionsFolder()
    {
        await using var host = PublishedHost.Start(
            Executable, "--port", "0", "--functions-folder", Path.Combine(AppContext.BaseDirectory, "plugins"));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{await host.ListeningAsync()}");
        var client = new Connector.ConnectorClient(channel);

        var capabilities = await client.GetCapabilitiesAsync(new Empty(), deadline: DateTime.UtcNow.AddMinutes(1));
        Assert.Contains(capabilities.Functions, f => f is { Name: "Triple", FunctionId: 500 });
        Assert.Equal([6, 1.5], await ExecuteAsync(client, functionId: 500, Numbers(2), Numbers(0.5)));
        Assert.Equal(0, await host.StopAsync());
    }

    [Fact]
    public async Task LinuxDownload_WritesItsLog_ToTheFileSinkTheSettingsAdd()
    {
        var log = Path.Combine(Directory.CreateTempSubdirectory("sseplugin-log-").FullName, "sseplugin.log");
        try
        {
            await using var host = PublishedHost.Start(
                Executable, "--port", "0", "--Serilog:WriteTo:0:Name", "File", "--Serilog:WriteTo:0:Args:path", log);
            await host.ListeningAsync();
            Assert.Equal(0, await host.StopAsync());

            Assert.Contains($"SsePlugin {published.Version}", await File.ReadAllTextAsync(log));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(log)!, recursive: true);
        }
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task LinuxZip_HoldsTheExecutable_ItsSettings_TheUnitAndInstallMd_NothingElseOfTheBuild()
    {
        var files = Directory.GetFiles(published.Linux, "*", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(published.Linux, file))
            .ToList();

        Assert.Subset(
            files.ToHashSet(),
            new HashSet<string>
            {
                "SsePlugin.Host", "appsettings.json", "INSTALL.md", "README.md", "LICENSE", "docs/install.md",
                "deploy/systemd/sseplugin.service",
            });
        Assert.DoesNotContain(files, file => file.StartsWith("deploy/windows", StringComparison.Ordinal));
        Assert.DoesNotContain(files, IsBuildLeftover);
        Assert.True(File.GetUnixFileMode(Executable).HasFlag(UnixFileMode.UserExecute), "SsePlugin.Host cannot run.");
        Assert.Matches(@"^\d+\.\d+\.\d+(-dev\.\d+)?$", published.Version);
        var (exitCode, printed) = await PublishFixture.RunAsync(Executable, ["--version"], TimeSpan.FromMinutes(1));
        Assert.Equal((0, published.Version), (exitCode, printed.Trim()));
    }

    [Fact]
    public void WindowsZip_HoldsTheExecutable_ItsSettings_TheServiceScriptAndInstallMd_NothingElseOfTheBuild()
    {
        Assert.Subset(
            published.WindowsEntries.ToHashSet(),
            new HashSet<string>
            {
                "SsePlugin.Host.exe", "appsettings.json", "INSTALL.md", "README.md", "LICENSE", "docs/install.md",
                "deploy/windows/sseplugin-service.ps1",
            });
        Assert.DoesNotContain(
            published.WindowsEntries, entry => entry.StartsWith("deploy/systemd", StringComparison.Ordinal));
        Assert.DoesNotContain(published.WindowsEntries, IsBuildLeftover);
    }

    // What a framework-dependent or unbundled build leaves beside the executable.
    private static bool IsBuildLeftover(string file) =>
        Path.GetExtension(file) is ".dll" or ".pdb" or ".so" or ".xml" or ".json" or ".config"
        && Path.GetFileName(file) != "appsettings.json";

    // Calls a function of numbers as Qlik's engine does; returns the first column of the answer.
    private static async Task<List<double>> ExecuteAsync(
        Connector.ConnectorClient client, int functionId, params Row[] rows)
    {
        using var call = client.ExecuteFunction(
            QlikHeaders(functionId, rows.Length), deadline: DateTime.UtcNow.AddMinutes(1));
        await call.RequestStream.WriteAsync(new BundledRows { Rows = { rows } });
        await call.RequestStream.CompleteAsync();
        var answers = new List<double>();
        await foreach (var bundle in call.ResponseStream.ReadAllAsync())
        {
            answers.AddRange(bundle.Rows.Select(row => row.Duals[0].NumData));
        }

        return answers;
    }

    private static Metadata QlikHeaders(int functionId, int rows) => new()
    {
        { "qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = functionId }.ToByteArray() },
        {
            "qlik-commonrequestheader-bin",
            new CommonRequestHeader { AppId = "app", UserId = "admin", Cardinality = rows }.ToByteArray()
        },
    };

    private static Row Numbers(params double[] values) =>
        new() { Duals = { values.Select(value => new Dual { NumData = value }) } };
}
