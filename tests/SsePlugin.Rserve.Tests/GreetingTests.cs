using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SsePlugin.Rserve.Tests;

/// <summary>
/// Peers that are not an Rserve this client can use, played by a loopback listener that sends a fixed greeting.
/// </summary>
public sealed class GreetingTests
{
    [Fact]
    public async Task NotRserve_NamesWhatWasReceived()
    {
        var error = await Assert.ThrowsAsync<RserveException>(
            () => ConnectToPeerAsync("HTTP/1.1 400 Bad Request\r\n\r\n\r\n\r\n"));

        Assert.Contains("not an Rserve", error.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 400 Bad Request\\x0D\\x0A", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CryptLoginOnly_AsksForPlaintext()
    {
        // What Rserve 1.8-11 sends with 'auth required' and 'plaintext disable'.
        var error = await Assert.ThrowsAsync<RserveException>(
            () => ConnectToPeerAsync("Rsrv0103QAP1\r\n\r\nARucKrU ------\r\n", user: "user"));

        Assert.Contains("'plaintext enable'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentPeer_TimesOut()
    {
        var error = await Assert.ThrowsAsync<RserveException>(
            () => ConnectToPeerAsync("", timeout: TimeSpan.FromMilliseconds(300)));

        Assert.Contains("did not answer within 0.3 s", error.Message, StringComparison.Ordinal);
    }

    private static async Task<RserveConnection> ConnectToPeerAsync(
        string greeting, string? user = null, TimeSpan? timeout = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var options = new RserveConnectionOptions
        {
            Port = ((IPEndPoint)listener.LocalEndpoint).Port,
            User = user,
            Password = "pass",
            ConnectTimeout = timeout ?? TimeSpan.FromSeconds(5),
        };
        var connecting = RserveConnection.ConnectAsync(options);
        using var peer = await listener.AcceptTcpClientAsync();
        await peer.GetStream().WriteAsync(Encoding.ASCII.GetBytes(greeting));
        return await connecting;
    }
}
