using SsePlugin.Server.Invocation;
using static SsePlugin.Server.Tests.Invocation.Calls;

namespace SsePlugin.Server.Tests.Invocation;

/// <summary>The answer column of per-row and streaming functions: sent when a bundle fills, or after a delay.</summary>
public sealed class RowOutputTests
{
    public static class Functions
    {
        [SseFunction(1, SseFunctionType.Scalar)]
        public static SseDual Same(SseDual value) => value;
    }

    [Fact]
    public async Task Answers_are_sent_once_a_bundle_is_full_in_one_message()
    {
        var (output, answers) = Output();
        for (var i = 0; i < RowOutput.BundleRows - 1; i++)
        {
            output.Add(new SseDual(i, $"{i}"));
        }

        // A full bundle goes out however soon after the last: no delay is needed (a loaded machine may add one).
        output.Add(new SseDual(-1, "last"));
        await output.FlushIfFullAsync();

        Assert.Equal(0, output.Count);
        Assert.Equal(RowOutput.BundleRows, answers.Rows.Count);
        Assert.Equal(("1", 1d), (answers.Rows[1].Duals[0].StrData, answers.Rows[1].Duals[0].NumData));
        Assert.Equal("last", answers.Rows[^1].Duals[0].StrData);
    }

    [Fact]
    public async Task Answers_go_out_before_a_bundle_is_full_once_the_delay_has_passed()
    {
        var (output, answers) = Output();
        output.Add(new SseDual(1, "a"));

        await Task.Delay(RowOutput.MaxDelayMilliseconds * 3);
        await output.FlushIfFullAsync();

        Assert.Equal("a", Assert.Single(answers.Rows).Duals[0].StrData);
    }

    [Fact]
    public async Task Nothing_is_sent_for_no_answers()
    {
        var (output, answers) = Output();

        await Task.Delay(RowOutput.MaxDelayMilliseconds * 3);
        await output.FlushIfFullAsync();
        await output.FlushAsync();

        Assert.Empty(answers.Events);
    }

    [Fact]
    public async Task Reserved_answers_are_written_by_index_and_the_buffers_are_reused_after_a_flush()
    {
        var (output, answers) = Output();
        var start = output.Reserve(2);
        output.Numbers[start + 1] = 2;
        output.Strings[start + 1] = "b";
        output.Numbers[start] = 1;
        output.Strings[start] = "a";
        var numbers = output.Numbers;

        await output.FlushAsync();
        output.Add(new SseDual(3, "c"));
        await output.FlushAsync();

        Assert.Same(numbers, output.Numbers);
        Assert.Equal(["a", "b", "c"], answers.Rows.Select(r => r.Duals[0].StrData));
        Assert.Equal(2, answers.Messages.Count);
    }

    [Fact]
    public async Task The_response_sends_its_pending_answers_when_the_call_would_wait()
    {
        var (call, answers) = Start(Function(typeof(Functions), 1), new MemoryRequests());
        var output = new RowOutput(SseDataType.Dual, call.Response);
        output.Add(new SseDual(1, "a"));

        await call.Response.SendPendingAsync();

        Assert.Single(answers.Rows);
        Assert.Equal(0, output.Count);
    }

    private static (RowOutput Output, MemoryAnswers Answers) Output()
    {
        var (call, answers) = Start(Function(typeof(Functions), 1), new MemoryRequests());
        return (new RowOutput(SseDataType.Dual, call.Response), answers);
    }
}
