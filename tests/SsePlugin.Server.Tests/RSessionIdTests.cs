using System.Runtime.Versioning;
using SsePlugin.Rserve;
using SsePlugin.R;

namespace SsePlugin.Server.Tests;

/// <summary>
/// No two live R sessions share a user id, with a real isolated Rserve (as root, as CI runs the tests).
/// </summary>
public sealed class RSessionIdTests
{
    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task A_new_R_process_under_the_id_of_a_live_session_is_ended_and_a_closed_session_gives_its_id_back()
    {
        Assert.True(Environment.IsPrivilegedProcess, "This test needs root, as CI runs it: only root can isolate R.");

        // Far from the blocks hosts take (2000000000 on, 16 blocks) and from the ids the Rserve tests use.
        using var ids = IsolationIdBlock.Take(2_100_300_000, "test");
        await using var server = await RserveProcess.StartAsync(new RserveProcessOptions
        {
            Port = RserveProcess.FreeLoopbackPort(),
            IsolationIdBase = ids.First,
            StartupScript = RSession.Preparation(initScript: null),
        });
        for (var id = ids.First + 1; id < ids.First + RserveProcess.IsolationIds; id++)
        {
            ids.TryHold(id);
        }

        await using var taken = await ConnectAsync(server);
        var refused = await RSession.OpenAsync(taken, string.Empty, lead: true, ids, CancellationToken.None);
        for (var id = ids.First + 1; id < ids.First + RserveProcess.IsolationIds; id++)
        {
            ids.Release(id);
        }

        await using var free = await ConnectAsync(server);
        var session = await RSession.OpenAsync(free, string.Empty, lead: true, ids, CancellationToken.None);
        var sessionId = RserveProcess.UserId(
            Assert.IsType<RIntegerVector>(await session!.Connection.EvalAsync("Sys.getpid()")).Values[0]);
        var heldWhileOpen = !ids.TryHold(sessionId!.Value);
        session.Close();

        Assert.Null(refused);
        await Assert.ThrowsAsync<RserveException>(() => taken.EvalAsync("1"));
        Assert.True(heldWhileOpen, "A live session's id could be held again.");
        // The id comes back once the session's temporary folder is deleted, which runs after Close.
        var released = ids.TryHold(sessionId.Value);
        for (var waited = 0; !released && waited < 10_000; waited += 20)
        {
            await Task.Delay(20);
            released = ids.TryHold(sessionId.Value);
        }

        Assert.True(released, "A closed session kept its id.");
    }

    private static Task<RserveConnection> ConnectAsync(RserveProcess server) =>
        RserveConnection.ConnectAsync(new RserveConnectionOptions { Port = server.Port });
}
