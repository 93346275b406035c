using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Observability;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// Settings of one analytic connection: the port Qlik connects to, and what Qlik finds there. In QMC each analytic
/// connection is a name, a host and a port; one process can serve several (see
/// <see cref="SsePluginOptions.Connections"/>).
/// </summary>
public class SseConnectionOptions
{
    /// <summary>The script engine a connection uses unless told otherwise.</summary>
    public const string DefaultScriptEngine = "javascript";

    /// <summary>Gets or sets the port to listen on. Default 50051.</summary>
    public int Port { get; set; } = 50051;

    /// <summary>
    /// Gets or sets the address to listen on. Default 127.0.0.1 (this machine only); 0.0.0.0 for every interface.
    /// </summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>
    /// Gets or sets the plugin's certificate folder (<c>root_cert.pem</c>, <c>sse_server_cert.pem</c>,
    /// <c>sse_server_key.pem</c>). When set, the port is TLS-only and requires a client certificate issued by that
    /// root; a missing or bad file stops the host at start. Default none: plaintext HTTP/2.
    /// </summary>
    public string? Certs { get; set; }

    /// <summary>
    /// Gets or sets whether Qlik's script functions (ScriptEval and its siblings) may run scripts. Default true.
    /// </summary>
    public bool AllowScript { get; set; } = true;

    /// <summary>
    /// Gets or sets the engine that runs Qlik's scripts and the functions file's <c>Script</c>s: <c>javascript</c>
    /// (default) or <c>r</c>.
    /// </summary>
    public string ScriptEngine { get; set; } = DefaultScriptEngine;

    /// <summary>
    /// Gets or sets a JSON file of functions whose bodies are scripts (the R plugin's FuncDefs.json format, or
    /// <c>Script</c> + <c>Engine</c>). Default none.
    /// </summary>
    public string? FunctionsFile { get; set; }

    /// <summary>Gets or sets the plugin identifier sent in <c>GetCapabilities</c>. Default <c>SsePlugin</c>.</summary>
    public string PluginIdentifier { get; set; } = "SsePlugin";

    /// <summary>
    /// Gets or sets the alias shown in the start-up banner's call syntax; the name given in QMC. Default
    /// <c>&lt;Alias&gt;</c>.
    /// </summary>
    public string Alias { get; set; } = "<Alias>";
}

/// <summary>
/// Settings of the SSE server, bound from the <c>SsePlugin</c> configuration section. Its connection settings are
/// those of the main analytic connection. A host may derive from it to bind, in one go, settings of its own that
/// live in the same section.
/// </summary>
public class SsePluginOptions : SseConnectionOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string Section = "SsePlugin";

    private const string WithinADay = "must be from 0 (no limit) to 86400 (a day).";

    /// <summary>
    /// Gets or sets a folder whose assemblies are searched for functions, besides the host's own. Default none.
    /// </summary>
    public string? FunctionsFolder { get; set; }

    /// <summary>
    /// Gets or sets the largest request message accepted, in bytes. Default 64 MiB; Qlik's engine sends bundles far
    /// smaller. A larger message ends its call with <c>ResourceExhausted</c> as soon as its length prefix arrives.
    /// </summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:MaxReceiveMessageBytes must be 1 or more.")]
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// Gets or sets how many <c>ExecuteFunction</c> and <c>EvaluateScript</c> calls may run at once, over every
    /// connection; one more ends at once with <c>ResourceExhausted</c>. Default 256; 0 for no limit.
    /// </summary>
    /// <remarks>
    /// Qlik's engine, like any gRPC client, calls over one HTTP/2 connection per analytic connection and runs at most
    /// 100 calls on it (Kestrel's streams per connection; more wait in the engine), so the default refuses calls only
    /// when three engines are busy at once: it bounds the memory that calls buffering whole columns can take. The
    /// last eighth of the slots goes only to connections running fewer calls than slots are left, so that a few
    /// clients holding many calls cannot take every slot from another.
    /// </remarks>
    [SettingRange(0, int.MaxValue, ErrorMessage = "SsePlugin:MaxConcurrentCalls must be 0 (no limit) or more.")]
    public int MaxConcurrentCalls { get; set; } = 256;

    /// <summary>
    /// Gets or sets how long, in seconds, a call may wait on its client: for its next request message, or for room to
    /// send an answer (a client that stops reading). Past it the call ends with <c>DeadlineExceeded</c> and frees its
    /// slot. Time the function takes does not count. Default 60, far above any pause of Qlik's engine; 0 for no limit.
    /// </summary>
    [SettingRange(0, 86400, ErrorMessage = $"{Section}:ClientIdleTimeoutSeconds {WithinADay}")]
    public int ClientIdleTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Gets or sets how long, in seconds, a call may wait on its client in all, summing its waits for request
    /// messages and for room to send answers: a client that sends a tiny message, or takes a little of an answer,
    /// just more often than <see cref="ClientIdleTimeoutSeconds"/> cannot keep its call and slot for ever. Past it the
    /// call ends with <c>DeadlineExceeded</c> and frees its slot. Time the function takes does not count. Default
    /// 3600, far above what Qlik's engine takes to send the largest <c>LOAD ... EXTENSION</c>; 0 for no limit.
    /// </summary>
    [SettingRange(0, 86400, ErrorMessage = $"{Section}:MaxClientWaitSeconds {WithinADay}")]
    public int MaxClientWaitSeconds { get; set; } = 3600;

    /// <summary>
    /// Gets or sets the size answers are bundled to, in bytes. Default 1 MiB; Qlik's engine accepts at most 4 MiB
    /// a message, so a larger value counts as 4 MiB. A single answer row larger than that ends its call with
    /// <c>ResourceExhausted</c>.
    /// </summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:ResponseBundleBytes must be 1 or more.")]
    public int ResponseBundleBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets the most memory the rows of one call may hold, in megabytes, for calls that read whole columns
    /// (aggregations, functions over columns, R scripts): 8 bytes a number, about 2 bytes a character of text.
    /// A call whose rows need more ends with <c>ResourceExhausted</c> before its columns grow further.
    /// Default 2048 (268 million numbers); 0 for no limit but the host's heap.
    /// </summary>
    /// <remarks>
    /// Qlik sends an aggregation every row of its column: 10 million numbers take 80 MB, as many texts of 20
    /// characters about 720 MB. The default keeps one call well below the host's heap limit (75% of the machine's
    /// memory) on any machine that runs a Qlik engine.
    /// </remarks>
    [SettingRange(0, int.MaxValue, ErrorMessage = $"{Section}:MaxCallMemoryMegabytes must be 0 (no limit) or more.")]
    public int MaxCallMemoryMegabytes { get; set; } = 2048;

    /// <summary>
    /// Gets or sets how long, in seconds, a stopping host (SIGTERM, Ctrl+C, a service stop) goes on taking new calls
    /// while its health service already answers <c>NOT_SERVING</c>, so that a load balancer or orchestrator sees the
    /// change and sends calls elsewhere before the port closes. Running calls then get the generic host's
    /// <c>shutdownTimeoutSeconds</c> to finish. Default 5; 0 stops taking calls at once.
    /// </summary>
    [SettingRange(0, 3600, ErrorMessage = $"{Section}:DrainDelaySeconds must be from 0 (none) to 3600 (an hour).")]
    public int DrainDelaySeconds { get; set; } = 5;

    /// <summary>
    /// Gets more analytic connections served by this process, by name, each on its own port with its own script
    /// engine and functions file; e.g. <c>"R": { "Port": 50052, "ScriptEngine": "r" }</c> next to the main one.
    /// Every connection serves the compiled (C#) functions.
    /// </summary>
    public Dictionary<string, SseConnectionOptions> Connections { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets the host's metrics settings.</summary>
    public MetricsOptions Metrics { get; } = new();

    /// <summary>Gets the admin endpoint's settings: metrics, health, the status page.</summary>
    public AdminOptions Admin { get; } = new();

    /// <summary>
    /// Lists every analytic connection's settings by name: these, the main connection's, first, then
    /// <see cref="Connections"/>.
    /// </summary>
    /// <returns>The settings, keyed by connection name.</returns>
    public IEnumerable<KeyValuePair<string, SseConnectionOptions>> AllConnections() =>
        Connections.Prepend(new(ConnectionRegistry.MainName, this));
}

/// <summary>Checks <see cref="SsePluginOptions"/>' data annotations at start, through the options validator source
/// generator (no reflection).</summary>
[OptionsValidator]
internal sealed partial class SsePluginOptionsValidator : IValidateOptions<SsePluginOptions>;

/// <summary>
/// Checks the names of <see cref="SsePluginOptions.Connections"/>: keys of a dictionary, which no data annotation
/// reaches. A connection's name appears in the banner, in logs and in QMC's settings.
/// </summary>
internal sealed partial class ConnectionNamesValidator : IValidateOptions<SsePluginOptions>
{
    public ValidateOptionsResult Validate(string? name, SsePluginOptions options)
    {
        const string Connections = $"{SsePluginOptions.Section}:{nameof(SsePluginOptions.Connections)}";
        var problems = options.Connections.Keys
            .Where(connection => !ConnectionName().IsMatch(connection))
            .Select(connection => $"{Connections}:{connection}: a connection's name starts with a letter and holds "
                + $"letters, digits, '_' and '-' only ({Connections} is an object, not an array).")
            .ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]*$")]
    private static partial Regex ConnectionName();
}
