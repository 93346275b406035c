using SsePlugin.Server.Transport;

namespace SsePlugin.Server.Tests.Transport;

/// <summary>The mark of a call's deadline, set from the deadline grpc-dotnet read from the call.</summary>
public sealed class CallDeadlineTests
{
    [Fact]
    public void A_call_without_a_deadline_never_passes_it()
    {
        using var deadline = new CallDeadline(DateTime.MaxValue, TimeProvider.System);

        Assert.False(deadline.Passed);
    }

    [Fact]
    public void A_deadline_far_ahead_has_not_passed()
    {
        using var deadline = new CallDeadline(DateTime.UtcNow.AddHours(1), TimeProvider.System);

        Assert.False(deadline.Passed);
    }

    [Fact]
    public void A_deadline_within_the_clients_lead_may_have_passed_for_the_client()
    {
        using var deadline = new CallDeadline(DateTime.UtcNow + (CallDeadline.ClientLead / 2), TimeProvider.System);

        Assert.True(deadline.Passed);
    }

    [Fact]
    public async Task A_deadline_is_marked_when_it_comes()
    {
        using var deadline = new CallDeadline(
            DateTime.UtcNow + CallDeadline.ClientLead + TimeSpan.FromMilliseconds(200), TimeProvider.System);

        // Generous: the mark needs only its timer, however loaded the machine.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!deadline.Passed && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }

        Assert.True(deadline.Passed);
    }
}
