using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace SsePlugin.EndToEndTests;

/// <summary>
/// One line of nginx's access log: the call's id (the test's <c>x-call-id</c> header), the HTTP status nginx
/// answered, and the replicas nginx passed it to with the time each took to connect (<c>127.0.0.1:1, 127.0.0.1:2</c>
/// and <c>-, 0.001</c> when the first refused the connection).
/// </summary>
public sealed record NginxLogLine(int CallId, int Status, string Upstreams, string ConnectTimes)
{
    /// <summary>Gets whether nginx connected to the last replica it tried, so that it began to send the call.</summary>
    public bool Connected => !ConnectTimes.EndsWith('-');
}

/// <summary>
/// Debian's nginx in a process of its own, running one of the shipped configurations (deploy/nginx) as an
/// administrator installs it, with only its addresses changed: it listens on a free loopback port and passes to the
/// given replicas. Its configuration, pid file and logs are in a temporary folder; it is stopped by its process id.
/// </summary>
public sealed partial class NginxProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly string _folder;

    private NginxProcess(ChildProcess process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    /// <summary>Gets the loopback port nginx listens on.</summary>
    public int Port { get; }

    /// <summary>Gets nginx's error log so far.</summary>
    public string ErrorLog => File.ReadAllText(Path.Combine(_folder, "error.log"));

    /// <summary>Gets the folder of the shipped configurations, deploy/nginx of the repository.</summary>
    public static string ShippedFolder { get; } = FindShippedFolder();

    /// <summary>
    /// Starts nginx with a shipped configuration (e.g. <c>sseplugin.conf</c>): its upstream's servers become the
    /// replicas, its listen port a free loopback port, and <c>/etc/nginx/sseplugin</c> the given certificate folder.
    /// </summary>
    /// <param name="configuration">The shipped file.</param>
    /// <param name="replicas">The upstream's servers, <c>127.0.0.1:port</c>.</param>
    /// <param name="certificates">The folder <c>certs generate</c> wrote, for the TLS configuration.</param>
    /// <param name="edit">What an administrator changes in the shipped file as its comments say, if anything.</param>
    public static async Task<NginxProcess> StartAsync(
        string configuration,
        IEnumerable<string> replicas,
        string? certificates = null,
        Func<string, string>? edit = null)
    {
        var folder = Directory.CreateTempSubdirectory("sse-nginx-").FullName;
        try
        {
            var port = FreePort();
            var shipped = await File.ReadAllTextAsync(Path.Combine(ShippedFolder, configuration));
            shipped = edit?.Invoke(shipped) ?? shipped;
            await File.WriteAllTextAsync(
                Path.Combine(folder, configuration), Adapt(shipped, port, replicas, certificates));
            Directory.CreateDirectory(Path.Combine(folder, "snippets"));
            foreach (var snippet in Directory.EnumerateFiles(Path.Combine(ShippedFolder, "snippets")))
            {
                File.Copy(snippet, Path.Combine(folder, "snippets", Path.GetFileName(snippet)));
            }

            await File.WriteAllTextAsync(Path.Combine(folder, "nginx.conf"), MainConfiguration(folder, configuration));
            var process = ChildProcess.Start(
                "nginx", ["-p", folder, "-c", Path.Combine(folder, "nginx.conf"), "-e", "error.log"]);
            var nginx = new NginxProcess(process, folder, port);
            try
            {
                await nginx.WaitUntilListeningAsync();
            }
            catch
            {
                await nginx.DisposeAsync();
                throw;
            }

            return nginx;
        }
        catch when (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>Reads the access log: one line per call nginx finished that carried an <c>x-call-id</c>.</summary>
    public IReadOnlyList<NginxLogLine> AccessLog() =>
    [
        .. File.ReadLines(Path.Combine(_folder, "access.log"))
            .Select(line => line.Split('|'))
            .Where(fields => fields[0] != "-")
            .Select(fields => new NginxLogLine(
                int.Parse(fields[0], CultureInfo.InvariantCulture),
                int.Parse(fields[1], CultureInfo.InvariantCulture),
                fields[2],
                fields[3])),
    ];

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // TERM: nginx's master stops its workers and exits (killed, workers and all, after 10 s).
            try
            {
                await _process.TerminateAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // killed: the tests go on
            }
        }

        await _process.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    // The shipped configuration with this test's addresses; nothing else of it changes.
    private static string Adapt(string shipped, int port, IEnumerable<string> replicas, string? certificates)
    {
        var servers = Replica().Matches(shipped);
        var indent = servers[0].Groups["indent"].Value;
        var parameters = servers[0].Groups["parameters"].Value;
        var upstream = string.Concat(replicas.Select(replica => $"{indent}server {replica}{parameters};\n"));
        var adapted = shipped[..servers[0].Index] + upstream + shipped[(servers[^1].Index + servers[^1].Length)..];
        adapted = Listen().Replace(adapted, $"listen 127.0.0.1:{port} ");
        return certificates is null ? adapted : adapted.Replace("/etc/nginx/sseplugin", certificates);
    }

    // nginx.conf: what Debian's /etc/nginx/nginx.conf gives an included file, with everything in the test's folder.
    // The access log names each call by the test's x-call-id header: its status, the replicas it went to and the
    // time each took to connect ("-": refused).
    private static string MainConfiguration(string folder, string configuration) => $$"""
        daemon off;
        worker_processes 1;
        pid {{folder}}/nginx.pid;
        error_log {{folder}}/error.log info;
        events {
            worker_connections 4096;
        }
        http {
            log_format calls '$http_x_call_id|$status|$upstream_addr|$upstream_connect_time';
            access_log {{folder}}/access.log calls;
            client_body_temp_path {{folder}}/body;
            proxy_temp_path {{folder}}/proxy;
            fastcgi_temp_path {{folder}}/fastcgi;
            uwsgi_temp_path {{folder}}/uwsgi;
            scgi_temp_path {{folder}}/scgi;
            include {{configuration}};
        }
        """;

    private async Task WaitUntilListeningAsync()
    {
        var stopAt = DateTime.UtcNow + ReplicaHost.StartOrStopTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"nginx exited with code {_process.ExitCode}: {_process.Printed}"
                    + ErrorLog);
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < stopAt)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindShippedFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null;
             directory = directory.Parent)
        {
            var shipped = Path.Combine(directory.FullName, "deploy", "nginx");
            if (Directory.Exists(shipped))
            {
                return shipped;
            }
        }

        throw new InvalidOperationException($"No deploy/nginx folder above {AppContext.BaseDirectory}.");
    }

    // An upstream's server line: "    server 10.0.0.11:50051 max_fails=1 fail_timeout=10s;".
    [GeneratedRegex(@"^(?<indent>[ \t]*)server [^\s;]+(?<parameters>[^;\n]*);\n", RegexOptions.Multiline)]
    private static partial Regex Replica();

    [GeneratedRegex(@"listen 50051 ")]
    private static partial Regex Listen();

}
