using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// The sockets Kestrel listens on, kept so that a draining host can stop new connections before it closes them. A
/// listening socket that closes resets every connection still in its accept queue: one a proxy (nginx) has just
/// opened and is sending a call on, which the proxy cannot then retry. On Linux, <see cref="RefuseNewConnections"/>
/// first makes the socket ignore new connections (their clients try again a second later, find the port closed and,
/// behind a proxy, go to another replica), so that the queue empties before the socket closes.
/// </summary>
internal sealed class ListenSockets : IConfigureOptions<SocketTransportOptions>
{
    // SOL_SOCKET and SO_ATTACH_FILTER of Linux, and the one instruction of a classic BPF program that drops every
    // packet (BPF_RET | BPF_K, 0): sock_filter { u16 code; u8 jt; u8 jf; u32 k; }.
    private const int SolSocket = 1;
    private const int SoAttachFilter = 26;
    private const long DropEverything = 0x06;

    private readonly ConcurrentBag<Socket> _sockets = [];

    /// <inheritdoc/>
    public void Configure(SocketTransportOptions options) => options.CreateBoundListenSocket = Listen;

    /// <summary>
    /// Makes every listening socket ignore new connections while Kestrel still accepts those already queued (Linux;
    /// elsewhere nothing changes).
    /// </summary>
    /// <returns>Whether any socket now ignores new connections.</returns>
    public bool RefuseNewConnections()
    {
        if (!OperatingSystem.IsLinux() || _sockets.IsEmpty)
        {
            return false;
        }

        var instruction = Marshal.AllocHGlobal(sizeof(long));
        try
        {
            Marshal.WriteInt64(instruction, DropEverything);

            // sock_fprog { u16 len; struct sock_filter *filter; }, the pointer aligned to 8 bytes.
            Span<byte> program = stackalloc byte[16];
            program.Clear();
            BitConverter.TryWriteBytes(program, (ushort)1);
            BitConverter.TryWriteBytes(program[8..], instruction.ToInt64());
            var refused = false;
            foreach (var socket in _sockets)
            {
                try
                {
                    socket.SetRawSocketOption(SolSocket, SoAttachFilter, program);
                    refused = true;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Closed already, or a kernel without socket filters: the socket closes as it would have.
                }
            }

            return refused;
        }
        finally
        {
            Marshal.FreeHGlobal(instruction);
        }
    }

    private Socket Listen(EndPoint endPoint)
    {
        var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endPoint);
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            _sockets.Add(socket);
        }

        return socket;
    }
}
