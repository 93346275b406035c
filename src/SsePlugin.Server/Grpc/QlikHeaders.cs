using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Grpc;

/// <summary>Reads the binary request headers Qlik sends at the start of a call.</summary>
internal static class QlikHeaders
{
    public const string Common = "qlik-commonrequestheader-bin";
    public const string Function = "qlik-functionrequestheader-bin";
    public const string Script = "qlik-scriptrequestheader-bin";

    /// <summary>Gets the common header of a call that sent none: an unnamed app and user. Never changed.</summary>
    public static CommonRequestHeader NoCommon { get; } = new();

    /// <summary>Reads the common header; a call without one is treated as coming from an unnamed app and user.</summary>
    public static CommonRequestHeader ReadCommon(ServerCallContext context) =>
        Read(context, Common, CommonRequestHeader.Parser, required: false) ?? NoCommon;

    /// <summary>Reads the function header, which every <c>ExecuteFunction</c> call must carry.</summary>
    public static FunctionRequestHeader ReadFunction(ServerCallContext context) =>
        Read(context, Function, FunctionRequestHeader.Parser, required: true)!;

    /// <summary>Reads the script header, which every <c>EvaluateScript</c> call must carry.</summary>
    public static ScriptRequestHeader ReadScript(ServerCallContext context) =>
        Read(context, Script, ScriptRequestHeader.Parser, required: true)!;

    private static T? Read<T>(ServerCallContext context, string key, MessageParser<T> parser, bool required)
        where T : class, IMessage<T>
    {
        Metadata.Entry? entry;
        try
        {
            entry = context.RequestHeaders.Get(key);
        }
        catch (FormatException e)
        {
            // grpc-dotnet decodes every binary header when the headers are first read, so the culprit is not known.
            throw new SseCallException(StatusCode.InvalidArgument, $"A binary (-bin) header of the call is not valid base64: {e.Message} Qlik's engine always encodes them; check the client.");
        }

        if (entry is null)
        {
            return required
                ? throw new SseCallException(StatusCode.InvalidArgument, $"The call carries no '{key}' header; Qlik's engine always sends it. Check the client.")
                : null;
        }

        try
        {
            return parser.ParseFrom(entry.ValueBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SseCallException(StatusCode.InvalidArgument, $"The '{key}' header could not be read as a {typeof(T).Name}: {e.Message}");
        }
    }
}
