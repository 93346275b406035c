using System.IO.Compression;
using System.Text.RegularExpressions;
using SsePlugin.Client;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// The author's whole path, offline: build/pack.sh packs every package into a folder feed; the templates are
/// installed into a private hive; a project is made from each; the functions project builds and passes its own tests,
/// and the host project serves its function to SsePlugin.Client's SseClient. NuGet sees only the folder feed, the
/// machine's package folder (/opt/nuget/packages: xunit and the test SDK) and the packages this repository's own
/// restore brought (Grpc, Protobuf); any other request goes to a proxy that refuses it.
/// </summary>
public sealed partial class TemplateTests : IDisposable
{
    // A release's version (a v1.0.0 tag): stable packages, though the server depends on a prerelease exporter.
    private const string StableVersion = "1.0.0";

    // Generous: packing nine projects takes minutes on a busy two-core machine.
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(15);

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-templates-").FullName;

    private string Feed => Path.Combine(_folder, "feed");

    private string Hive => Path.Combine(_folder, "hive");

    [Fact]
    public async Task The_templates_build_test_and_serve_from_the_packages_alone()
    {
        // The repository's own build, as a maintainer runs it; from here on, offline.
        await RunAsync(
            Path.Combine(PublishFixture.Repository, "build", "pack.sh"),
            ["--out", Feed, "--version", StableVersion],
            offline: false);
        await File.WriteAllTextAsync(Path.Combine(_folder, "nuget.config"), NuGetConfig());
        var templates = Directory.GetFiles(Feed, "SsePlugin.Templates.*.nupkg").Single();
        await RunAsync("dotnet", ["new", "install", templates, "--debug:custom-hive", Hive]);
        await RunAsync("dotnet", [.. New("sseplugin-functions", "Contoso.Margins")]);
        await RunAsync("dotnet", [.. New("sseplugin-host", "Contoso.Host")]);

        var tested = await RunAsync(
            "dotnet", ["test", Path.Combine(_folder, "Contoso.Margins", "Contoso.Margins.slnx")]);
        await RunAsync("dotnet", ["build", Path.Combine(_folder, "Contoso.Host")]);
        var (capabilities, answer) = await CallHostAsync(Path.Combine(_folder, "Contoso.Host"));

        var packages = Directory.GetFiles(Feed, $"*.{StableVersion}.nupkg")
            .ToDictionary(package => Path.GetFileName(package), Nuspec);
        Assert.Contains($"SsePlugin.Server.{StableVersion}.nupkg", packages.Keys);
        Assert.All(packages.Values, nuspec => Assert.Contains("""<license type="expression">MIT</license>""", nuspec));
        Assert.Contains(
            $"""<dependency id="SsePlugin.Client" version="{StableVersion}" """,
            packages[$"SsePlugin.Testing.{StableVersion}.nupkg"]);
        Assert.Matches(@"Passed!\s+- Failed:\s+0, Passed:\s+3", tested);
        Assert.Equal("Contoso.Host", capabilities.PluginIdentifier);
        Assert.Equal(["sales", "cost"], capabilities["Margin"].Parameters.Select(p => p.Name));
        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal([0.4, double.NaN], answer.Numbers());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string[] New(string template, string name) =>
        ["new", template, "-n", name, "-o", Path.Combine(_folder, name), "--debug:custom-hive", Hive,
            "--no-update-check"];

    /// <summary>
    /// The folder feed and the local package folders, each as a source (/opt/nuget/packages holds .nupkg files only, so
    /// it cannot be a fallback folder); no other source.
    /// </summary>
    private string NuGetConfig() => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="sseplugin" value="{Feed}" />
            {MachinePackages}
            <add key="restored" value="{RestoredPackages()}" />
          </packageSources>
          <fallbackPackageFolders>
            <clear />
          </fallbackPackageFolders>
        </configuration>
        """;

    /// <summary>The package's manifest.</summary>
    private static string Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        using var manifest = new StreamReader(
            zip.Entries.Single(entry => entry.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        return manifest.ReadToEnd();
    }

    /// <summary>Starts the host project's build on a free port, asks for its functions and calls Margin.</summary>
    private static async Task<(SseCapabilities Capabilities, SseAnswer Answer)> CallHostAsync(string project)
    {
        await using var host = ChildProcess.Start(
            "dotnet", [Path.Combine("bin", "Debug", "net10.0", "Contoso.Host.dll"), "--SsePlugin:Port", "0"], project);
        var listening = await host.WaitForLineAsync(ListeningOn(), StepTimeout);
        using var client = new SseClient(new Uri(listening.Groups[1].Value));
        var capabilities = await client.GetCapabilitiesAsync();
        return (capabilities, await client.ExecuteAsync(100, [1000, 600], [0, 5]));
    }

    /// <summary>Runs a command in the test's folder, offline unless told, and asserts that it succeeds.</summary>
    /// <returns>What it printed.</returns>
    private async Task<string> RunAsync(string program, string[] args, bool offline = true)
    {
        await using var process = await ChildProcess.RunAsync(
            program, args, StepTimeout, _folder, offline ? OfflineEnvironment() : NoBuildServers);
        Assert.True(
            process.ExitCode == 0,
            $"{program} {string.Join(' ', args)} failed ({process.ExitCode}):\n{process.Output + process.Errors}");
        return process.Output + process.Errors;
    }

    /// <summary>No build servers left behind: the tests stop every process they start.</summary>
    private static Dictionary<string, string> NoBuildServers => new()
    {
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
    };

    /// <summary>
    /// A home, a .NET CLI home and a package folder of the test's own, no build servers, and every HTTP request sent to
    /// a proxy that refuses it (port 9, discard).
    /// </summary>
    private Dictionary<string, string> OfflineEnvironment() => new(NoBuildServers)
    {
        ["HOME"] = Path.Combine(_folder, "home"),
        ["DOTNET_CLI_HOME"] = Path.Combine(_folder, "home"),
        ["NUGET_PACKAGES"] = Path.Combine(_folder, "packages"),
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["http_proxy"] = "http://127.0.0.1:9",
        ["https_proxy"] = "http://127.0.0.1:9",
        ["HTTP_PROXY"] = "http://127.0.0.1:9",
        ["HTTPS_PROXY"] = "http://127.0.0.1:9",
        ["no_proxy"] = "",
        ["NO_PROXY"] = "",
    };

    /// <summary>The machine's package folder, where it has one.</summary>
    private static string MachinePackages => Directory.Exists("/opt/nuget/packages")
        ? """<add key="machine" value="/opt/nuget/packages" />"""
        : "";

    /// <summary>The folder this repository's own restore filled: NUGET_PACKAGES, or ~/.nuget/packages.</summary>
    private static string RestoredPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
