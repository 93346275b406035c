using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Client;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>Calls the Connector with request messages given as bytes, to send what Qlik's engine never would.</summary>
internal static class RawCalls
{
    private const string Service = "qlik.sse.Connector";

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    private static readonly Marshaller<BundledRows> Rows = Marshallers.Create(
        static m => m.ToByteArray(), BundledRows.Parser.ParseFrom);

    public static Method<byte[], byte[]> GetCapabilities { get; } = new(
        MethodType.Unary, Service, nameof(GetCapabilities), Bytes, Bytes);

    public static Method<byte[], BundledRows> ExecuteFunction { get; } = new(
        MethodType.DuplexStreaming, Service, nameof(ExecuteFunction), Bytes, Rows);

    public static Method<byte[], BundledRows> EvaluateScript { get; } = new(
        MethodType.DuplexStreaming, Service, nameof(EvaluateScript), Bytes, Rows);

    /// <summary>Sends the messages as they are while reading the answer.</summary>
    public static Task<SseAnswer> SendAsync(
        this CallInvoker invoker, Method<byte[], BundledRows> method, Metadata headers, params byte[][] messages) =>
        QlikCalls.CallAsync(
            token => invoker.AsyncDuplexStreamingCall(method, null, new CallOptions(headers, cancellationToken: token)),
            messages,
            SseCalls.CallTimeout);

    /// <summary>
    /// A <c>BundledRows</c> of one-column rows whose <c>strData</c> holds the given bytes, valid UTF-8 or not.
    /// </summary>
    public static byte[] TextRows(params byte[][] texts) =>
        [.. texts.SelectMany(text => Field(1, Field(1, Field(2, text))))];

    /// <summary>A length-delimited field: tag, length, content.</summary>
    public static byte[] Field(int number, byte[] content) =>
        [(byte)((number << 3) | 2), .. Varint((uint)content.Length), .. content];

    private static IEnumerable<byte> Varint(uint value)
    {
        for (; value >= 0x80; value >>= 7)
        {
            yield return (byte)(value | 0x80);
        }

        yield return (byte)value;
    }
}
