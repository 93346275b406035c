using System.Globalization;

namespace SsePlugin.R;

/// <summary>
/// One Rserve the pool opens R sessions on, and whether it can be used: down from a failed connection on, with the
/// reason, until one succeeds (the supervisor tries an Rserve of one's own every <see cref="RetryPause"/>).
/// </summary>
/// <param name="host">Its host name or IP address.</param>
/// <param name="port">Its port.</param>
internal sealed class RserveAddress(string host, int port)
{
    /// <summary>How often an Rserve that cannot be used is tried again.</summary>
    public static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private string? _problem;
    private Task? _check;

    /// <summary>Gets its host name or IP address.</summary>
    public string Host { get; } = host;

    /// <summary>Gets its port.</summary>
    public int Port { get; } = port;

    /// <summary>Gets its address as <c>host:port</c>.</summary>
    public string Name { get; } = string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    /// <summary>Gets why it cannot be used; null while it can (also before it was first tried).</summary>
    public string? Problem
    {
        get
        {
            lock (_lock)
            {
                return _problem;
            }
        }
    }

    /// <summary>Marks it down, for the reason given.</summary>
    /// <param name="problem">Why it cannot be used.</param>
    /// <returns>Whether it was up until now.</returns>
    public bool MarkDown(string problem)
    {
        lock (_lock)
        {
            var wasUp = _problem is null;
            _problem = problem;
            return wasUp;
        }
    }

    /// <summary>Marks it up.</summary>
    /// <returns>Whether it was down until now.</returns>
    public bool MarkUp()
    {
        lock (_lock)
        {
            var wasDown = _problem is not null;
            _problem = null;
            return wasDown;
        }
    }

    /// <summary>
    /// Runs a check of it, or joins the one running: the checks of one health report ask at once, and one connection
    /// answers them all.
    /// </summary>
    /// <param name="check">Connects to it and marks it up or down.</param>
    /// <returns>A task that completes when the check has.</returns>
    public Task CheckAsync(Func<RserveAddress, Task> check)
    {
        lock (_lock)
        {
            if (_check is not { IsCompleted: false })
            {
                _check = Task.Run(() => check(this));
            }

            return _check;
        }
    }
}
