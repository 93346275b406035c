using Grpc.Core;
using Grpc.Net.Client;
using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>
/// Calls an SSE plugin (SsePlugin or any other) exactly as Qlik's engine does: the binary request headers, rows in
/// bundles of duals, the answer read while the rows go out, cancellation. It answers typed values and never throws for
/// a failed call: the status is in the answer.
/// </summary>
/// <example>
/// <code>
/// using var client = new SseClient(new Uri("http://127.0.0.1:50051"));
/// var answer = await client.ExecuteAsync(100, [1000, 600], [0, 5]);   // function 100, two rows of two numbers
/// Console.WriteLine(string.Join(", ", answer.Numbers()));
/// </code>
/// </example>
public sealed class SseClient : IDisposable
{
    /// <summary>The most a response message may hold, as Qlik's engine receives: 4 MiB.</summary>
    public const int MaxReceiveMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Initializes a client of the plugin at <paramref name="address"/> (<c>http://host:port</c> for plaintext HTTP/2,
    /// <c>https://</c> for TLS through <paramref name="handler"/>, which presents Qlik's client certificate).
    /// </summary>
    /// <param name="address">The plugin's address.</param>
    /// <param name="handler">
    /// The HTTP handler, e.g. a <see cref="SocketsHttpHandler"/> with TLS options; by default one that connects
    /// directly, as Qlik's engine does, whatever proxy the environment names (<c>HTTP_PROXY</c>).
    /// </param>
    public SseClient(Uri address, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler ?? new SocketsHttpHandler { UseProxy = false },
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxReceiveMessageBytes,
        });
        Connector = new Connector.ConnectorClient(Channel);
        Address = address;
    }

    /// <summary>Gets the plugin's address.</summary>
    public Uri Address { get; }

    /// <summary>Gets the channel to the plugin, for other services (health) and raw calls.</summary>
    internal GrpcChannel Channel { get; }

    /// <summary>Gets the generated client, for calls Qlik's engine would not make.</summary>
    internal Connector.ConnectorClient Connector { get; }

    /// <summary>Asks the plugin for its functions, as Qlik's engine does first.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The plugin's capabilities.</returns>
    /// <exception cref="RpcException">The plugin cannot be reached or fails the call.</exception>
    public async Task<SseCapabilities> GetCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        SseCapabilities.From(
            await Connector.GetCapabilitiesAsync(new Empty(),
                cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>Calls a function with rows in one bundle.</summary>
    /// <param name="functionId">The function's id.</param>
    /// <param name="rows">The rows, a value per parameter.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> ExecuteAsync(int functionId, params SseValue[][] rows) =>
        ExecuteAsync(functionId, [new SseBundle(rows)]);

    /// <summary>Calls a function with rows in the given bundles.</summary>
    /// <param name="functionId">The function's id.</param>
    /// <param name="bundles">The request messages.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> ExecuteAsync(int functionId, params SseBundle[] bundles) =>
        ExecuteAsync(functionId, bundles, options: null);

    /// <summary>Calls a function with rows in the given bundles.</summary>
    /// <param name="functionId">The function's id.</param>
    /// <param name="bundles">The request messages.</param>
    /// <param name="options">The app, user, cardinality, deadline and timeout; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the call, as Qlik does when a user leaves a sheet.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> ExecuteAsync(
        int functionId,
        IReadOnlyCollection<SseBundle> bundles,
        SseCallOptions? options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        options ??= new SseCallOptions();
        var headers = QlikCalls.Headers(
            functionId, options.AppId, options.UserId, options.Cardinality ?? bundles.Sum(b => (long)b.Count));
        return QlikCalls.CallAsync(
            token => Connector.ExecuteFunction(headers, Deadline(options), token),
            bundles.Select(b => b.Message),
            options.Timeout,
            cancellationToken);
    }

    /// <summary>Calls one of Qlik's script functions with rows in one bundle.</summary>
    /// <param name="script">The script and its header, e.g. <c>SseScript.Eval("args[0] * 2", "Sales")</c>.</param>
    /// <param name="rows">The rows, a value per parameter.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> EvaluateAsync(SseScript script, params SseValue[][] rows) =>
        EvaluateAsync(script, [new SseBundle(rows)]);

    /// <summary>Calls one of Qlik's script functions with rows in the given bundles.</summary>
    /// <param name="script">The script and its header.</param>
    /// <param name="bundles">The request messages.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> EvaluateAsync(SseScript script, params SseBundle[] bundles) =>
        EvaluateAsync(script, bundles, options: null);

    /// <summary>Calls one of Qlik's script functions with rows in the given bundles.</summary>
    /// <param name="script">The script and its header.</param>
    /// <param name="bundles">The request messages.</param>
    /// <param name="options">The app, user, deadline and timeout; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The answer.</returns>
    public Task<SseAnswer> EvaluateAsync(
        SseScript script,
        IReadOnlyCollection<SseBundle> bundles,
        SseCallOptions? options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(bundles);
        options ??= new SseCallOptions();
        var headers = QlikCalls.ScriptHeaders(script, options.AppId, options.UserId);
        return QlikCalls.CallAsync(
            token => Connector.EvaluateScript(headers, Deadline(options), token),
            bundles.Select(b => b.Message),
            options.Timeout,
            cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose() => Channel.Dispose();

    private static DateTime? Deadline(SseCallOptions options) => DateTime.UtcNow + options.Deadline;
}
