using System.Buffers;
using Grpc.Core;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Tests.Transport;

/// <summary>How the request side turns grpc-dotnet's refusals and a client gone into what the call reports.</summary>
public sealed class GrpcRequestReaderTests
{
    [Fact]
    public async Task Messages_already_there_are_read_without_waiting()
    {
        using var cancellation = new CancellationTokenSource();
        var stream = new Stream([Task.FromResult(true), Task.FromResult(false)]);
        var reader = new GrpcRequestReader(stream, cancellation, null, "F", 100);

        var first = reader.ReadAsync();
        Assert.True(first.IsCompletedSuccessfully);
        Assert.Same(stream.Current, await first);
        Assert.Null(await reader.ReadAsync());
        Assert.Equal([cancellation.Token, cancellation.Token], stream.Tokens);
    }

    [Fact]
    public async Task A_message_that_comes_later_is_awaited()
    {
        using var cancellation = new CancellationTokenSource();
        var arriving = new TaskCompletionSource<bool>();
        var reader = new GrpcRequestReader(new Stream([arriving.Task]), cancellation, null, "F", 100);

        var reading = reader.ReadAsync();
        Assert.False(reading.IsCompleted);
        arriving.SetResult(false);

        Assert.Null(await reading);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_message_over_the_limit_is_a_limit_naming_the_setting_and_refuses_the_request(bool lengthPrefix)
    {
        using var cancellation = new CancellationTokenSource();
        Exception refusal = lengthPrefix
            ? new IOException("Message too large: 4294967295")
            : new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum"));
        var reader = new GrpcRequestReader(new Stream([Later(refusal)]), cancellation, null, "F", 1234);

        var error = await Assert.ThrowsAsync<CallFailure>(() => reader.ReadAsync().AsTask());

        Assert.Equal(CallFailureKind.LimitExceeded, error.Kind);
        Assert.Equal(
            "F: a request message is larger than the 1234 bytes SsePlugin:MaxReceiveMessageBytes allows. Qlik's "
            + "engine sends far smaller bundles of rows; raise the setting only if a client must send larger ones.",
            error.Message);
        Assert.True(reader.Refused);
        Assert.False(cancellation.IsCancellationRequested);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Malformed_framing_is_invalid_input_saying_what_grpc_found(bool invalidData)
    {
        using var cancellation = new CancellationTokenSource();
        Exception fault = invalidData
            ? new InvalidDataException("Unexpected compressed flag value in gRPC message.")
            : new RpcException(new Status(StatusCode.Internal, "Incomplete message."));
        var reader = new GrpcRequestReader(new Stream([Later(fault)]), cancellation, null, "F", 100);

        var error = await Assert.ThrowsAsync<CallFailure>(() => reader.ReadAsync().AsTask());

        Assert.Equal(CallFailureKind.InvalidInput, error.Kind);
        Assert.Equal(
            "F: The request is not valid gRPC message framing: "
            + (invalidData ? "Unexpected compressed flag value in gRPC message." : "Incomplete message."),
            error.Message);
        Assert.False(reader.Refused);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_gone_cancels_the_calls_token_before_the_call_sees_it(bool reset)
    {
        using var cancellation = new CancellationTokenSource();
        Exception gone = reset
            ? new IOException("The client reset the request stream.")
            : new OperationCanceledException();
        var reader = new GrpcRequestReader(new Stream([Later(gone)]), cancellation, null, "F", 100);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadAsync().AsTask());

        Assert.True(cancellation.IsCancellationRequested);
        Assert.False(reader.Refused);
    }

    private static async Task<bool> Later(Exception exception)
    {
        await Task.Yield();
        throw exception;
    }

    // grpc-dotnet's request stream as a call sees it: each read completes as the test says.
    private sealed class Stream(Task<bool>[] reads) : IAsyncStreamReader<RequestMessage>
    {
        private int _next;

        public RequestMessage Current { get; } = RequestMessage.Copy(new ReadOnlySequence<byte>([]));

        public List<CancellationToken> Tokens { get; } = [];

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            Tokens.Add(cancellationToken);
            return reads[_next++];
        }
    }
}
