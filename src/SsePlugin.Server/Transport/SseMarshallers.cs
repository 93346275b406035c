using Grpc.Core;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Transport;

/// <summary>The marshallers for <c>BundledRows</c> that read into and write from columns.</summary>
internal static class SseMarshallers
{
    /// <summary>Reads a request <c>BundledRows</c> as a <see cref="RequestMessage"/>, which its call decodes.</summary>
    public static Marshaller<RequestMessage> Requests { get; } = new(
        static (_, _) => throw new NotSupportedException("Request messages are only read."),
        static context => RequestMessage.Copy(context.PayloadAsReadOnlySequence()));

    /// <summary>Writes a <see cref="ResponseChunk"/> as a <c>BundledRows</c>.</summary>
    public static Marshaller<ResponseChunk> Responses { get; } = new(
        static (chunk, context) =>
        {
            context.SetPayloadLength(chunk.Size);
            chunk.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        static _ => throw new NotSupportedException("Response chunks are only written."));
}
