using System.Runtime.CompilerServices;
using Grpc.Core;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Transport;

/// <summary>
/// A call's request messages from grpc-dotnet's request stream. Turns grpc-dotnet's refusals into failures Qlik can
/// act on, reports each wait for a message to the call's watch, and cancels the call's token the moment the stream
/// breaks, as Kestrel reports an abort on the request's own token only a little later.
/// </summary>
/// <param name="requests">grpc-dotnet's request stream.</param>
/// <param name="cancellation">The source of the call's token, which the reads heed.</param>
/// <param name="watch">The watch on a slow client; none: no limit.</param>
/// <param name="function">The name of the function called, for messages.</param>
/// <param name="maxReceiveMessageBytes">The largest request message taken (SsePlugin:MaxReceiveMessageBytes).</param>
internal sealed class GrpcRequestReader(
    IAsyncStreamReader<RequestMessage> requests,
    CancellationTokenSource cancellation,
    ClientWatch? watch,
    string function,
    int maxReceiveMessageBytes) : IRequestReader
{
    // How grpc-dotnet's message starts when a length prefix is over 2 GiB ("Message too large: 4294967295").
    private const string OversizedLengthPrefix = "Message too large";

    /// <summary>
    /// Gets whether grpc-dotnet refused a request message over the size limit: the rest of such a request is not
    /// worth reading, and the stream is reset.
    /// </summary>
    public bool Refused { get; private set; }

    public ValueTask<RequestMessage?> ReadAsync()
    {
        var moving = requests.MoveNext(cancellation.Token);
        if (moving.IsCompletedSuccessfully)
        {
            return new(moving.Result ? requests.Current : null);
        }

        if (!moving.IsCompleted)
        {
            // Only a wait is watched: a message already there costs nothing.
            watch?.WaitingForRequest();
        }

        return WaitAsync(moving);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RequestMessage?> WaitAsync(Task<bool> moving)
    {
        bool moved;
        try
        {
            moved = await moving.ConfigureAwait(false);
        }
        catch (Exception e) when (IsOversized(e))
        {
            // grpc-dotnet's refusal of a message over MaxReceiveMessageBytes, or of a length prefix over 2 GiB (up to
            // 0xFFFFFFFF): a message over any limit, not a client that went away.
            Refused = true;
            throw new CallFailure(
                CallFailureKind.LimitExceeded,
                $"{function}: a request message is larger than the {maxReceiveMessageBytes} bytes "
                + "SsePlugin:MaxReceiveMessageBytes allows. Qlik's engine sends far smaller bundles of rows; raise "
                + "the setting only if a client must send larger ones.",
                e);
        }
        catch (OperationCanceledException)
        {
            // The client cancelled: the function sees its token cancelled before it sees this error.
            await cancellation.CancelAsync().ConfigureAwait(false);
            throw;
        }
        catch (IOException e)
        {
            // The client is gone (its stream was reset): for the call, a cancellation like any other.
            await cancellation.CancelAsync().ConfigureAwait(false);
            throw new OperationCanceledException(e.Message, e, cancellation.Token);
        }
        catch (InvalidDataException e)
        {
            // grpc-dotnet's own check of the message framing, e.g. a compressed flag that is neither 0 nor 1.
            throw Malformed(e.Message, e);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Internal)
        {
            // grpc-dotnet's other framing faults, which it reports as its own (Internal): a compressed message
            // without a grpc-encoding header, or a request that ends in the middle of a message.
            throw Malformed(e.Status.Detail, e);
        }

        watch?.RequestArrived();
        return moved ? requests.Current : null;
    }

    private static bool IsOversized(Exception exception) =>
        exception is RpcException { StatusCode: StatusCode.ResourceExhausted }
        || (exception is IOException && exception.Message.StartsWith(OversizedLengthPrefix, StringComparison.Ordinal));

    private CallFailure Malformed(string detail, Exception inner) => new(
        CallFailureKind.InvalidInput,
        $"{function}: The request is not valid gRPC message framing: {detail}",
        inner);
}
