using System.Diagnostics;

namespace SsePlugin.Rserve.Tests;

/// <summary>R errors, undecodable values, cancellation and connection failures.</summary>
[Collection(SharedRserve.Name)]
public sealed class FailureTests(RserveFixture rserve)
{
    [Fact]
    public async Task RError_HasStatus127_AndLeavesTheConnectionUsable()
    {
        await using var r = await rserve.ConnectAsync();

        var error = await Assert.ThrowsAsync<RserveException>(() => r.EvalAsync("stop('boom')"));

        Assert.Equal(127, error.Status);
        Assert.Contains("R reported an error (status 127)", error.Message, StringComparison.Ordinal);
        Assert.False(r.IsBroken);
        var message = Assert.IsType<RStringVector>(await r.EvalAsync("geterrmessage()"));
        Assert.Contains("boom", message.Values[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RErrorInVoidEval_HasStatus127()
    {
        await using var r = await rserve.ConnectAsync();

        var error = await Assert.ThrowsAsync<RserveException>(() => r.VoidEvalAsync("x <- 1\nstop('bang')"));

        Assert.Equal(127, error.Status);
        RAssert.Elements(await r.EvalAsync("x"), 1.0);
    }

    [Fact]
    public async Task ParseError_HasParseStatus()
    {
        await using var r = await rserve.ConnectAsync();

        var incomplete = await Assert.ThrowsAsync<RserveException>(() => r.EvalAsync("1 +"));
        var wrong = await Assert.ThrowsAsync<RserveException>(() => r.EvalAsync("1 + )"));

        Assert.Equal(2, incomplete.Status);
        Assert.Equal(3, wrong.Status);
        Assert.Contains("does not parse", wrong.Message, StringComparison.Ordinal);
        RAssert.Elements(await r.EvalAsync("1 + 1"), 2.0);
    }

    [Fact]
    public async Task UnsupportedValues_AreSkipped()
    {
        await using var r = await rserve.ConnectAsync();

        Assert.IsType<RUnsupported>(await r.EvalAsync("function(x) x"));
        Assert.IsType<RUnsupported>(await r.EvalAsync("complex(real = 1, imaginary = 2)"));
        Assert.IsType<RUnsupported>(await r.EvalAsync("as.raw(1:3)"));
        var list = Assert.IsType<RList>(await r.EvalAsync("list(f = mean, e = globalenv(), q = quote(a + b), n = 5)"));

        RAssert.Texts(list.Names, "f", "e", "q", "n");
        Assert.IsType<RUnsupported>(list.Items[0]);
        Assert.IsType<RUnsupported>(list.Items[1]);
        RAssert.Elements(list.Items[3], 5.0);
        Assert.False(r.IsBroken);
        RAssert.Elements(await r.EvalAsync("1 + 2"), 3.0);
    }

    [Fact]
    public async Task Cancellation_BreaksTheConnectionQuickly()
    {
        await using var r = await rserve.ConnectAsync();
        using var signals = new RSignals();
        using var cancel = new CancellationTokenSource();
        var pending = r.EvalAsync($"{signals.Started}; Sys.sleep(60)", cancel.Token);
        await signals.StartedAsync();
        var clock = Stopwatch.StartNew();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);

        // At once, not when R's 60 s of sleep end; the margin is for a loaded machine.
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
        Assert.True(r.IsBroken);
        await Assert.ThrowsAsync<RserveException>(() => r.EvalAsync("1"));
        await using var fresh = await rserve.ConnectAsync();
        RAssert.Elements(await fresh.EvalAsync("1"), 1.0);
    }

    [Fact]
    public async Task CancelledBeforeSending_LeavesTheConnectionUsable()
    {
        await using var r = await rserve.ConnectAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => r.EvalAsync("1", new CancellationToken(canceled: true)));

        Assert.False(r.IsBroken);
        RAssert.Elements(await r.EvalAsync("1"), 1.0);
    }

    [Fact]
    public async Task Abort_FailsThePendingCommand()
    {
        await using var r = await rserve.ConnectAsync();
        using var signals = new RSignals();
        var pending = r.EvalAsync($"{signals.Started}; Sys.sleep(60)");
        await signals.StartedAsync();

        r.Abort();

        var error = await Assert.ThrowsAsync<RserveException>(() => pending);
        Assert.Contains("aborted", error.Message, StringComparison.Ordinal);
        Assert.True(r.IsBroken);
    }

    [Fact]
    public async Task SecondCommand_WhileOneIsPending_IsRefused()
    {
        await using var r = await rserve.ConnectAsync();
        using var signals = new RSignals();
        var pending = r.EvalAsync($"{signals.AwaitRelease}; 1");

        var refused = await Record.ExceptionAsync(() => r.EvalAsync("2"));
        signals.Release();

        Assert.IsType<InvalidOperationException>(refused);
        RAssert.Elements(await pending, 1.0);
        Assert.False(r.IsBroken);
    }

    [Fact]
    public async Task Connections_HaveSeparateWorkspaces()
    {
        await using var first = await rserve.ConnectAsync();
        await using var second = await rserve.ConnectAsync();

        await first.AssignAsync("q", new RDoubleVector([1]));

        RAssert.Elements<byte>(await first.EvalAsync("exists('q', inherits = FALSE)"), 1);
        RAssert.Elements<byte>(await second.EvalAsync("exists('q', inherits = FALSE)"), 0);
    }

    [Fact]
    public async Task ClosedPort_GivesAClearError()
    {
        var port = RserveProcess.FreeLoopbackPort();

        var error = await Assert.ThrowsAsync<RserveException>(
            () => RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = port }));

        Assert.Contains($"Cannot connect to Rserve at 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }
}
