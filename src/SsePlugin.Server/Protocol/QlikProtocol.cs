using System.Collections.Frozen;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// What Qlik's SSE protocol and Qlik's engine fix: the names of the headers a call carries, the limits of the
/// engine's gRPC client, and the functions Qlik reserves for scripts. Every part of the server takes them from here.
/// </summary>
internal static class QlikProtocol
{
    /// <summary>The request header naming the app and user that call (<c>CommonRequestHeader</c>).</summary>
    public const string CommonHeader = "qlik-commonrequestheader-bin";

    /// <summary>The request header of an <c>ExecuteFunction</c> call (<c>FunctionRequestHeader</c>).</summary>
    public const string FunctionHeader = "qlik-functionrequestheader-bin";

    /// <summary>The request header of an <c>EvaluateScript</c> call (<c>ScriptRequestHeader</c>).</summary>
    public const string ScriptHeader = "qlik-scriptrequestheader-bin";

    /// <summary>The response header describing an answered table (<c>TableDescription</c>).</summary>
    public const string TableDescriptionHeader = "qlik-tabledescription-bin";

    /// <summary>The response header or trailer of cache control.</summary>
    public const string CacheHeader = "qlik-cache";

    /// <summary>The cache control value that tells Qlik not to cache an answer.</summary>
    public const string NoStore = "no-store";

    /// <summary>The largest message Qlik's engine receives (gRPC's default receive limit).</summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The most response header bytes Qlik's engine (a gRPC C-core client) takes, status message included; a longer
    /// header is reported to it as a header-size error instead of its text.
    /// </summary>
    public const int MaxResponseHeaderBytes = 8 * 1024;

    /// <summary>
    /// The largest table description sent, serialized: a binary header travels in base64, a third longer, within
    /// <see cref="MaxResponseHeaderBytes"/>.
    /// </summary>
    public const int MaxTableDescriptionBytes = 4096;

    /// <summary>
    /// The longest status message sent, in characters as gRPC writes it in the <c>grpc-message</c> header, well
    /// within <see cref="MaxResponseHeaderBytes"/>.
    /// </summary>
    public const int MaxStatusMessageLength = 2048;

    /// <summary>
    /// The eight functions Qlik defines for scripts, which it sends as scripts (<c>EvaluateScript</c>), never to a
    /// plugin function of the same name.
    /// </summary>
    public static FrozenSet<string> ScriptFunctionNames { get; } = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "ScriptEval",
        "ScriptEvalStr",
        "ScriptAggr",
        "ScriptAggrStr",
        "ScriptEvalEx",
        "ScriptEvalExStr",
        "ScriptAggrEx",
        "ScriptAggrExStr");
}
