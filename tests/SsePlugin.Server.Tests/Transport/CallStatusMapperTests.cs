using Grpc.Core;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;
using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Tests.Transport;

/// <summary>The one mapper from whatever ended a call to the status and message Qlik gets.</summary>
public sealed class CallStatusMapperTests
{
    private static readonly CallStatusMapper Mapper =
        new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), CancellationToken.None);

    private static readonly CallEnding Running = new(Cancelled: false);

    [Theory]
    [InlineData(nameof(CallFailureKind.InvalidInput), StatusCode.InvalidArgument)]
    [InlineData(nameof(CallFailureKind.LimitExceeded), StatusCode.ResourceExhausted)]
    [InlineData(nameof(CallFailureKind.TimeLimitExceeded), StatusCode.DeadlineExceeded)]
    [InlineData(nameof(CallFailureKind.Unavailable), StatusCode.Unavailable)]
    [InlineData(nameof(CallFailureKind.EngineMisconfigured), StatusCode.FailedPrecondition)]
    [InlineData(nameof(CallFailureKind.WrongAnswer), StatusCode.Internal)]
    [InlineData(nameof(CallFailureKind.UnknownFunction), StatusCode.NotFound)]
    [InlineData(nameof(CallFailureKind.NotAllowed), StatusCode.PermissionDenied)]
    public void Each_kind_of_failure_has_its_status_and_keeps_its_message(string kind, StatusCode code)
    {
        var failure = new CallFailure(Enum.Parse<CallFailureKind>(kind), "F: what went wrong.");

        var status = Mapper.StatusOf(failure, "F", Running);

        Assert.Equal(new Status(code, "F: what went wrong."), status);
    }

    [Fact]
    public void Every_kind_of_failure_is_mapped()
    {
        Assert.All(
            Enum.GetValues<CallFailureKind>(),
            kind => Assert.NotEqual(StatusCode.Unknown, CallStatusMapper.StatusOf(kind)));
    }

    [Fact]
    public void A_failure_of_its_own_kind_wins_over_the_calls_cancellation()
    {
        var failure = new CallFailure(CallFailureKind.TimeLimitExceeded, "F: the script ran longer.");

        var status = Mapper.StatusOf(failure, "F", new CallEnding(Cancelled: true, PastDeadline: true));

        Assert.Equal(StatusCode.DeadlineExceeded, status.StatusCode);
        Assert.Equal("F: the script ran longer.", status.Detail);
    }

    [Fact]
    public void A_cancelled_call_before_its_deadline_was_cancelled_by_the_client()
    {
        var status = Mapper.StatusOf(new OperationCanceledException(), "F", new CallEnding(Cancelled: true));

        Assert.Equal(new Status(StatusCode.Cancelled, "F: the call was cancelled by the client."), status);
    }

    [Fact]
    public void A_cancelled_call_past_its_deadline_ran_past_it()
    {
        var status = Mapper.StatusOf(
            new OperationCanceledException(), "F", new CallEnding(Cancelled: true, PastDeadline: true));

        Assert.Equal(
            new Status(StatusCode.DeadlineExceeded, "F: the call ran past the deadline the client set."), status);
    }

    [Fact]
    public void Whatever_ended_a_cancelled_call_it_ends_as_cancelled()
    {
        var write = new InvalidOperationException("Can't write the message because the request is complete.");

        Assert.Equal(StatusCode.Cancelled, Mapper.StatusOf(write, "F", new CallEnding(Cancelled: true)).StatusCode);
        Assert.Equal(
            StatusCode.DeadlineExceeded,
            Mapper.StatusOf(write, "F", new CallEnding(Cancelled: true, PastDeadline: true)).StatusCode);
    }

    [Fact]
    public void A_deadline_that_passed_on_a_call_not_cancelled_changes_nothing()
    {
        var status = Mapper.StatusOf(
            new InvalidOperationException("boom"), "F", new CallEnding(Cancelled: false, PastDeadline: true));

        Assert.Equal(new Status(StatusCode.Unknown, "F failed: InvalidOperationException: boom"), status);
    }

    [Fact]
    public void A_call_cancelled_as_the_host_stops_is_unavailable()
    {
        using var stopping = new CancellationTokenSource();
        stopping.Cancel();
        var mapper = new CallStatusMapper(TimeSpan.Zero, TimeSpan.Zero, stopping.Token);

        var status = mapper.StatusOf(
            new OperationCanceledException(), "F", new CallEnding(Cancelled: true, PastDeadline: true));

        Assert.Equal(
            new Status(
                StatusCode.Unavailable,
                "F: the plugin stopped before the call finished (it waits shutdownTimeoutSeconds for running calls)."),
            status);
    }

    [Fact]
    public void The_host_out_of_memory_is_resource_exhausted_naming_the_settings()
    {
        var status = Mapper.StatusOf(new InsufficientMemoryException(), "F", Running);

        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Matches(
            @"^F: the host ran out of memory during the call; its heap is capped at \d+ MB\. Retry when fewer large "
            + "calls run, or lower SsePlugin:MaxCallMemoryMegabytes or SsePlugin:MaxConcurrentCalls so that calls "
            + "fit together.$",
            status.Detail);
        Assert.True(CallStatusMapper.IsOutOfMemory(new InsufficientMemoryException()));
        Assert.True(CallStatusMapper.IsOutOfMemory(
            new CallFailure(CallFailureKind.LimitExceeded, "F: rows.", new InsufficientMemoryException())));
        Assert.False(CallStatusMapper.IsOutOfMemory(new CallFailure(CallFailureKind.LimitExceeded, "F: rows.")));
    }

    [Fact]
    public void A_malformed_request_is_invalid_input_naming_the_function()
    {
        var status = Mapper.StatusOf(new MalformedRequestException("The message is not valid."), "F", Running);

        Assert.Equal(new Status(StatusCode.InvalidArgument, "F: The message is not valid."), status);
    }

    [Fact]
    public void Any_other_exception_is_unknown_with_its_type_and_message()
    {
        var status = Mapper.StatusOf(new DivideByZeroException("Attempted to divide by zero."), "F", Running);

        Assert.Equal(
            new Status(StatusCode.Unknown, "F failed: DivideByZeroException: Attempted to divide by zero."),
            status);
    }

    [Theory]
    [InlineData(true, false, "sent no rows for 30 s", "ClientIdleTimeoutSeconds")]
    [InlineData(false, false, "took no answer for 30 s", "ClientIdleTimeoutSeconds")]
    [InlineData(true, true, "kept the call waiting for rows 120 s in all", "MaxClientWaitSeconds")]
    [InlineData(false, true, "kept the call waiting for it to take answers 120 s in all", "MaxClientWaitSeconds")]
    public void A_client_that_kept_the_call_waiting_ends_it_naming_the_limit_it_broke(
        bool forRows, bool overLimit, string what, string setting)
    {
        var wait = forRows ? ClientWatch.Wait.Request : ClientWatch.Wait.Answer;
        var ending = new CallEnding(Cancelled: true, ClientKeptWaiting: wait, OverWaitLimit: overLimit);

        var status = Mapper.StatusOf(new OperationCanceledException(), "F", ending);

        Assert.Equal(StatusCode.DeadlineExceeded, status.StatusCode);
        Assert.StartsWith(
            $"F: the client {what}, so the call was ended to free its slot (SsePlugin:{setting}).",
            status.Detail,
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_too_long_for_Qliks_headers_is_cut_as_gRPC_writes_it()
    {
        var status = Mapper.StatusOf(
            new CallFailure(CallFailureKind.InvalidInput, "F: " + new string('é', 5000)), "F", Running);

        Assert.EndsWith(" [...]", status.Detail, StringComparison.Ordinal);
        // Each é takes six characters as gRPC writes it (%C3%A9).
        var written = status.Detail.Sum(c => c is >= ' ' and <= '~' and not '%' ? 1 : 6);
        Assert.InRange(written, QlikProtocol.MaxStatusMessageLength - 12, QlikProtocol.MaxStatusMessageLength);
    }

    [Fact]
    public void A_short_message_is_kept_whole()
    {
        var message = "F: " + new string('x', QlikProtocol.MaxStatusMessageLength - 3);

        var status = Mapper.StatusOf(new CallFailure(CallFailureKind.InvalidInput, message), "F", Running);

        Assert.Equal(message, status.Detail);
    }
}
