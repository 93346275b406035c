using System.Text.RegularExpressions;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// Runs build/publish.sh once for the tests of the downloads: the linux-x64 and win-x64 zips in a temporary folder,
/// each unpacked with unzip into an empty folder of its own, as an administrator would.
/// </summary>
public sealed partial class PublishFixture : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-publish-").FullName;

    /// <summary>Gets the repository's root folder.</summary>
    public static string Repository { get; } = FindRepository(AppContext.BaseDirectory);

    /// <summary>Gets the version build/publish.sh gave the downloads, as their names show it.</summary>
    public string Version { get; private set; } = "";

    /// <summary>Gets the folder the linux-x64 zip was unpacked in.</summary>
    public string Linux => Path.Combine(_folder, "linux-x64");

    /// <summary>Gets the names of the win-x64 zip's entries, with / between folders.</summary>
    public IReadOnlyList<string> WindowsEntries { get; private set; } = [];

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var zips = Path.Combine(_folder, "zips");
        // No build servers left behind: the tests stop every process they start.
        var (exitCode, output) = await RunAsync(
            Path.Combine(Repository, "build", "publish.sh"),
            ["linux-x64", "win-x64", "--out", zips],
            PublishTimeout,
            new Dictionary<string, string>
            {
                ["MSBUILDDISABLENODEREUSE"] = "1",
                ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
                ["UseSharedCompilation"] = "false",
            });
        Assert.True(exitCode == 0, $"build/publish.sh failed ({exitCode}):\n{output}");

        var linuxZip = Directory.GetFiles(zips, "SsePlugin-*-linux-x64.zip").Single();
        Version = ZipName().Match(Path.GetFileName(linuxZip)).Groups["version"].Value;
        Directory.CreateDirectory(Linux);
        (exitCode, output) = await RunAsync("unzip", ["-q", linuxZip, "-d", Linux], TimeSpan.FromMinutes(1));
        Assert.True(exitCode == 0, $"unzip failed ({exitCode}):\n{output}");

        var windowsZip = Path.Combine(zips, $"SsePlugin-{Version}-win-x64.zip");
        (exitCode, output) = await RunAsync("unzip", ["-Z1", windowsZip], TimeSpan.FromMinutes(1));
        Assert.True(exitCode == 0, $"unzip -Z1 failed ({exitCode}):\n{output}");
        WindowsEntries = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <inheritdoc/>
    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Runs a program to its end (killed after the timeout).</summary>
    /// <returns>Its exit code and what it printed, standard output then standard error.</returns>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string program,
        IEnumerable<string> args,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var process = await ChildProcess.RunAsync(program, args, timeout, Repository, environment);
        return (process.ExitCode, process.Output + process.Errors);
    }

    private static string FindRepository(string folder) =>
        File.Exists(Path.Combine(folder, "SsePlugin.sln"))
            ? folder
            : FindRepository(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(folder))
                ?? throw new InvalidOperationException("The tests do not run inside the repository."));

    [GeneratedRegex(@"^SsePlugin-(?<version>.+)-linux-x64\.zip$")]
    private static partial Regex ZipName();
}

/// <summary>The tests that share one run of build/publish.sh.</summary>
[CollectionDefinition(Name)]
public sealed class PublishedDownloads : ICollectionFixture<PublishFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Published downloads";
}
