using SsePlugin.Host.Commands;
using SsePlugin.Server.Security;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>
/// Certificate sets made by <c>certs generate</c> in a temporary folder: <see cref="Trusted"/> for the TLS host and
/// <see cref="Foreign"/>, from another root, for what must be refused. Each set holds <c>plugin/</c> and <c>qlik/</c>.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sse-certs-").FullName;

    public TestCertificates()
    {
        Trusted = Generate("trusted", "localhost", "127.0.0.1");
        Foreign = Generate("foreign", "localhost", "127.0.0.1");
    }

    public string Trusted { get; }

    public string Foreign { get; }

    public static string Plugin(string set) => Path.Combine(set, CertificateSide.Plugin.Folder);

    public static string Qlik(string set) => Path.Combine(set, CertificateSide.Qlik.Folder);

    /// <summary>Makes a set with the certs command, for these host names.</summary>
    public string Generate(string name, params string[] hosts)
    {
        var set = NewFolder(name);
        var output = new StringWriter();
        string[] args =
            ["certs", "generate", "--out", set, "--days", "30", .. hosts.SelectMany(h => new[] { "--host", h })];
        var exitCode = new HostCommandLine().InvokeAsync(args, output).GetAwaiter().GetResult();
        Assert.True(exitCode == ExitCodes.Ok, output.ToString());
        return set;
    }

    /// <summary>The path of a folder that does not exist yet, for one test.</summary>
    public string NewFolder(string name) => Path.Combine(_directory, name);

    /// <summary>A copy of a folder, to break in one test.</summary>
    public string Copy(string folder, string name)
    {
        var copy = Directory.CreateDirectory(NewFolder(name)).FullName;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
