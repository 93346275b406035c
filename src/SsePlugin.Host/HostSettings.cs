using SsePlugin.JavaScript;
using SsePlugin.Python;
using SsePlugin.R;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Host;

/// <summary>
/// Everything the <c>SsePlugin</c> section holds in this host: the server's settings, the engines' sections and the
/// host's <see cref="Examples"/> switch. Bound once at start by a binder that refuses unknown keys, so that a mistyped
/// key anywhere in the section, its connections included, stops the host instead of being ignored.
/// </summary>
internal sealed class HostSettings : SsePluginOptions
{
    /// <summary>Gets the JavaScript engine's limits, <c>SsePlugin:JavaScript</c>.</summary>
    public JavaScriptOptions JavaScript { get; } = new();

    /// <summary>Gets how the host reaches R, <c>SsePlugin:Rserve</c>.</summary>
    public ROptions Rserve { get; } = new();

    /// <summary>Gets how the host runs Python, <c>SsePlugin:Python</c>.</summary>
    public PythonOptions Python { get; } = new();

    /// <summary>Gets or sets whether the examples are served. Default: until functions of one's own are configured.
    /// </summary>
    public bool? Examples { get; set; }
}

/// <summary>
/// The generic host's <c>shutdownTimeoutSeconds</c>, bound and checked here: the host itself ignores a value it cannot
/// read, and would wait its default 30 s.
/// </summary>
internal sealed class ShutdownSettings
{
    /// <summary>Gets or sets how long a stop waits for running calls, in seconds.</summary>
    public int ShutdownTimeoutSeconds { get; set; }
}
