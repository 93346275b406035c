using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Qlik.Sse;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Server.Transport;

/// <summary>
/// Reads the binary request headers Qlik sends at the start of a call, straight from the HTTP request's headers.
/// grpc-dotnet's <c>RequestHeaders</c> would first copy every header of the call into a <c>Metadata</c>,
/// base64-decoding each binary one: a few percent of the CPU of a one-row call.
/// </summary>
internal static class QlikHeaders
{
    // Qlik's headers are a few hundred bytes; a header this long is decoded on the heap instead of the stack.
    private const int MaxStackHeaderChars = 1024;

    /// <summary>Gets the common header of a call that sent none: an unnamed app and user. Never changed.</summary>
    public static CommonRequestHeader NoCommon { get; } = new();

    /// <summary>Reads the common header; a call without one is treated as coming from an unnamed app and user.
    /// </summary>
    public static CommonRequestHeader ReadCommon(IHeaderDictionary headers) =>
        Read(headers, QlikProtocol.CommonHeader, CommonRequestHeader.Parser, required: false) ?? NoCommon;

    /// <summary>Reads the function header, which every <c>ExecuteFunction</c> call must carry.</summary>
    public static FunctionRequestHeader ReadFunction(IHeaderDictionary headers) =>
        Read(headers, QlikProtocol.FunctionHeader, FunctionRequestHeader.Parser, required: true)!;

    /// <summary>Reads the script header, which every <c>EvaluateScript</c> call must carry, as the script to run.
    /// </summary>
    public static ScriptDefinition ReadScript(IHeaderDictionary headers)
    {
        var header = Read(headers, QlikProtocol.ScriptHeader, ScriptRequestHeader.Parser, required: true)!;
        var parameters = new ParameterDefinition[header.Params.Count];
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = header.Params[i];
            if (!Enum.IsDefined(parameter.DataType))
            {
                throw new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"The script header gives parameter '{parameter.Name}' the data type {(int)parameter.DataType}; "
                    + "Qlik's are 0 (string), 1 (numeric) and 2 (dual).");
            }

            var name = parameter.Name.Length == 0 ? $"arg{i}" : parameter.Name;
            parameters[i] = new ParameterDefinition(name, (SseDataType)parameter.DataType);
        }

        if (!Enum.IsDefined(header.FunctionType) || !Enum.IsDefined(header.ReturnType))
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"The script header has function type {header.FunctionType} and return type {header.ReturnType}; "
                + "one of them is unknown.");
        }

        return new ScriptDefinition(
            header.Script, (SseFunctionType)header.FunctionType, (SseDataType)header.ReturnType, parameters);
    }

    /// <summary>Reads one binary header.</summary>
    private static T? Read<T>(IHeaderDictionary headers, string key, MessageParser<T> parser, bool required)
        where T : class, IMessage<T>
    {
        // A header sent twice arrives as two values or, from some clients, as one joined with a comma, which is no
        // base64.
        var values = headers[key];
        if (values.Count == 0)
        {
            return required
                ? throw new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"The call carries no '{key}' header; Qlik's engine always sends it. Check the client.")
                : null;
        }

        // Counted first, as joining the values leaves out empty ones (such as the header of function id 0).
        if (values.Count > 1)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"The '{key}' header was sent more than once; Qlik's engine sends it once. Check the client.");
        }

        var text = values.ToString().AsSpan();
        Span<byte> bytes = text.Length <= MaxStackHeaderChars ? stackalloc byte[text.Length] : new byte[text.Length];
        if (!TryDecodeBase64(text, bytes, out var length))
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"The '{key}' header is not valid base64, as a binary (-bin) header must be, or it was sent more "
                + "than once. Qlik's engine sends it once, encoded; check the client.");
        }

        try
        {
            return parser.ParseFrom(bytes[..length]);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"The '{key}' header could not be read as a {typeof(T).Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Decodes base64 with or without its padding: gRPC's C-core clients, Qlik's engine among them, leave it out.
    /// </summary>
    private static bool TryDecodeBase64(ReadOnlySpan<char> text, Span<byte> bytes, out int length)
    {
        var padding = (4 - (text.Length % 4)) % 4;
        if (padding == 0)
        {
            return Convert.TryFromBase64Chars(text, bytes, out length);
        }

        if (padding == 3)
        {
            length = 0;
            return false;
        }

        Span<char> padded = text.Length + padding <= MaxStackHeaderChars
            ? stackalloc char[text.Length + padding]
            : new char[text.Length + padding];
        text.CopyTo(padded);
        padded[text.Length..].Fill('=');
        return Convert.TryFromBase64Chars(padded, bytes, out length);
    }
}
