using Grpc.Core;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Transport;

/// <summary>A call's answer through grpc-dotnet: Qlik's response headers, the response stream and the trailers.
/// </summary>
/// <param name="responses">The response stream (watched, when the call's client may keep it waiting).</param>
/// <param name="context">The call, whose headers and trailers carry Qlik's keys.</param>
internal sealed class GrpcAnswerWriter(IServerStreamWriter<ResponseChunk> responses, ServerCallContext context)
    : IAnswerWriter
{
    public ValueTask WriteHeadersAsync(bool noStore, byte[]? tableDescription)
    {
        var headers = new Metadata();
        if (noStore)
        {
            headers.Add(QlikProtocol.CacheHeader, QlikProtocol.NoStore);
        }

        if (tableDescription is not null)
        {
            headers.Add(QlikProtocol.TableDescriptionHeader, tableDescription);
        }

        return new(context.WriteResponseHeadersAsync(headers));
    }

    public ValueTask WriteAsync(ResponseChunk chunk) => new(responses.WriteAsync(chunk));

    public void WriteNoStoreTrailer() => context.ResponseTrailers.Add(QlikProtocol.CacheHeader, QlikProtocol.NoStore);
}
