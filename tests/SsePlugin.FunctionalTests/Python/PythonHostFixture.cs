using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;

namespace SsePlugin.FunctionalTests.Python;

/// <summary>A host whose scripts run in Debian's CPython, with numpy and pandas.</summary>
public sealed class PythonHostFixture : IAsyncLifetime
{
    /// <summary>Debian's Python (the one on the path may be another, e.g. pyenv's under /root).</summary>
    public const string Python = "/usr/bin/python3";

    private TestHost? _host;

    internal SseClient Client => _host!.Client;

    public async Task InitializeAsync() => _host = await StartHostAsync();

    /// <summary>
    /// Starts a host whose scripts run in Python: four at once, a 20 s limit per call (generous for a loaded machine).
    /// </summary>
    public static Task<TestHost> StartHostAsync(params string[] args) => TestHost.StartAsync(
    [
        "--script-engine", "python", "--SsePlugin:Python:Executable", Python, "--SsePlugin:Python:PoolSize", "4",
        "--SsePlugin:Python:TimeoutSeconds", "20", .. args,
    ]);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedPythonHost : ICollectionFixture<PythonHostFixture>
{
    public const string Name = "Python host";
}

/// <summary>
/// A folder every account may write to, where scripts leave what the test watches (their process ids), since Python
/// calls run under ids of their own under a host running as root. Each call gets a private folder over every such
/// folder the worker finds; this one is in a folder others may pass through but not list, so it is not found.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class ScriptNotes : IDisposable
{
    private readonly DirectoryInfo _parent =
        Directory.CreateDirectory(Path.Combine("/run", $"sseplugin-python-test-{Guid.NewGuid():N}"));

    private readonly DirectoryInfo _folder;

    public ScriptNotes()
    {
        System.IO.File.SetUnixFileMode(_parent.FullName, (UnixFileMode)0b111_001_001);
        _folder = _parent.CreateSubdirectory("notes");
        System.IO.File.SetUnixFileMode(_folder.FullName, (UnixFileMode)0b111_111_111);
    }

    /// <summary>Python code that writes the process ids of the script and what it started to the note's file.</summary>
    public string Write(string name, string pids) =>
        $"open({Quote(Path.Combine(_folder.FullName, name))}, 'w').write(' '.join(map(str, {pids})))";

    /// <summary>Waits for a note the script writes, and reads its process ids.</summary>
    public async Task<int[]> ReadAsync(string name)
    {
        var path = Path.Combine(_folder.FullName, name);
        Assert.True(await R.ProcessChecks.WithinHalfAMinuteAsync(
            () => System.IO.File.Exists(path) && new FileInfo(path).Length > 0));
        return [.. (await System.IO.File.ReadAllTextAsync(path)).Split(' ').Select(int.Parse)];
    }

    /// <summary>A path of the folder as a Python string literal.</summary>
    public string Quoted(string name) => Quote(Path.Combine(_folder.FullName, name));

    /// <summary>Makes an empty file in the folder, which a script may wait for.</summary>
    public void Touch(string name) => System.IO.File.WriteAllText(Path.Combine(_folder.FullName, name), string.Empty);

    /// <summary>Writes a file to the folder and returns its path.</summary>
    public string File(string name, string text)
    {
        var path = Path.Combine(_folder.FullName, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => _parent.Delete(recursive: true);

    private static string Quote(string text) => "'" + text.Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
