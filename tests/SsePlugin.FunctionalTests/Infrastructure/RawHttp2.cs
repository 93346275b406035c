using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>
/// Opens bare HTTP/2 connections and sends what gRPC clients never do: a request's headers over the limits the
/// server advertises, or streams opened and reset by the thousand.
/// </summary>
public static class RawHttp2
{
    private const int FrameSize = 16 * 1024;
    private const byte Data = 0x0;
    private const byte Headers = 0x1;
    private const byte ResetStream = 0x3;
    private const byte Settings = 0x4;
    private const byte GoAway = 0x7;
    private const byte Continuation = 0x9;
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;
    private const byte Ack = 0x1;

    /// <summary>Sends a gRPC request's headers for <paramref name="path"/> and tells how the server answered.</summary>
    /// <returns>
    /// <c>GOAWAY</c>, <c>RST_STREAM</c> or <c>HEADERS</c>, with the error code or status 431 where there is one;
    /// <c>closed</c> if the server just closed.
    /// </returns>
    public static async Task<string> SendHeadersAsync(
        Uri address, string path, params (string Name, string Value)[] extra)
    {
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), timeout.Token);
        await WriteFrameAsync(stream, Settings, 0, 0, ReadOnlyMemory<byte>.Empty, timeout.Token);

        var block = HeaderBlock(address, path, extra);
        try
        {
            for (var offset = 0; offset < block.Length; offset += FrameSize)
            {
                var size = Math.Min(FrameSize, block.Length - offset);
                await WriteFrameAsync(
                    stream, offset == 0 ? Headers : Continuation, offset + size == block.Length ? EndHeaders : (byte)0,
                    1, block.AsMemory(offset, size), timeout.Token);
            }
        }
        catch (IOException)
        {
            // The server closed the connection before the headers were all sent; what it said first is read below.
        }

        var header = new byte[9];
        while (true)
        {
            if (!await ReadExactlyAsync(stream, header, timeout.Token))
            {
                return "closed";
            }

            var payload = new byte[PayloadLength(header)];
            if (!await ReadExactlyAsync(stream, payload, timeout.Token))
            {
                return "closed";
            }

            switch (header[3])
            {
                case Settings when (header[4] & Ack) == 0:
                    try
                    {
                        await WriteFrameAsync(stream, Settings, Ack, 0, ReadOnlyMemory<byte>.Empty, timeout.Token);
                    }
                    catch (IOException)
                    {
                        // The server has already closed its side; what it sent before that is still to be read.
                    }

                    break;
                case GoAway:
                    return $"GOAWAY {BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4))}";
                case ResetStream:
                    return $"RST_STREAM {BinaryPrimitives.ReadUInt32BigEndian(payload)}";
                case Headers:
                    // Kestrel writes a status outside HPACK's static table as a literal, without Huffman coding.
                    return Encoding.ASCII.GetString(payload).Contains("431", StringComparison.Ordinal)
                        ? "HEADERS 431"
                        : "HEADERS";
            }
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> streams on one connection, each a gRPC request's headers at once followed by
    /// its reset (RST_STREAM CANCEL), as an HTTP/2 rapid reset attack does, and discards whatever the server answers.
    /// </summary>
    /// <returns>How many streams were sent before the server closed the connection, if it did.</returns>
    public static async Task<int> OpenAndResetStreamsAsync(
        Uri address, string path, int count, params (string Name, string Value)[] extra)
    {
        const int Batch = 100;
        const int Cancel = 0x8;
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        var discarding = stream.CopyToAsync(Stream.Null, timeout.Token);
        var block = HeaderBlock(address, path, extra);
        var opened = 0;
        try
        {
            await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), timeout.Token);
            await WriteFrameAsync(stream, Settings, 0, 0, ReadOnlyMemory<byte>.Empty, timeout.Token);
            while (opened < count)
            {
                using var frames = new MemoryStream();
                for (var i = 0; i < Batch && opened < count; i++, opened++)
                {
                    var streamId = (2 * opened) + 1;
                    await WriteFrameAsync(frames, Headers, EndHeaders, streamId, block, timeout.Token);
                    var code = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(code, Cancel);
                    await WriteFrameAsync(frames, ResetStream, 0, streamId, code, timeout.Token);
                }

                await stream.WriteAsync(frames.GetBuffer().AsMemory(0, (int)frames.Length), timeout.Token);
            }
        }
        catch (IOException)
        {
            // The server closed the connection; the streams opened so far count.
        }

        try
        {
            tcp.Client.Shutdown(SocketShutdown.Send);
            await discarding;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server reset the connection after its last frames.
        }

        return opened;
    }

    /// <summary>
    /// Opens <paramref name="count"/> gRPC calls on one connection and sends each an empty request message every
    /// <paramref name="interval"/>, as a client that keeps calls alive without ever sending rows does, until the
    /// server has ended them all or <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <returns>How many of the calls the server ended (their trailers, or a reset).</returns>
    public static async Task<int> TrickleAsync(
        Uri address,
        string path,
        int count,
        TimeSpan interval,
        CancellationToken cancellationToken,
        params (string Name, string Value)[] extra)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, cancellationToken);
        var stream = tcp.GetStream();
        var ended = new ConcurrentDictionary<int, bool>();
        var reading = ReadEndsAsync(stream, ended, cancellationToken);
        byte[] emptyMessage = [0, 0, 0, 0, 0];
        try
        {
            await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), cancellationToken);
            await WriteFrameAsync(stream, Settings, 0, 0, ReadOnlyMemory<byte>.Empty, cancellationToken);
            var block = HeaderBlock(address, path, extra);
            for (var i = 0; i < count; i++)
            {
                await WriteFrameAsync(stream, Headers, EndHeaders, (2 * i) + 1, block, cancellationToken);
            }

            while (ended.Count < count && !reading.IsCompleted)
            {
                for (var i = 0; i < count; i++)
                {
                    if (!ended.ContainsKey((2 * i) + 1))
                    {
                        await WriteFrameAsync(stream, Data, 0, (2 * i) + 1, emptyMessage, cancellationToken);
                    }
                }

                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The server closed the connection, or the caller stopped trickling.
        }

        return ended.Count;
    }

    // Reads frames until the connection ends, noting the streams the server ended.
    private static async Task ReadEndsAsync(
        NetworkStream stream, ConcurrentDictionary<int, bool> ended, CancellationToken cancellationToken)
    {
        var header = new byte[9];
        try
        {
            while (await ReadExactlyAsync(stream, header, cancellationToken)
                && await ReadExactlyAsync(stream, new byte[PayloadLength(header)], cancellationToken))
            {
                if ((header[3] == Headers && (header[4] & EndStream) != 0) || header[3] == ResetStream)
                {
                    ended[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue] = true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The caller stopped trickling.
        }
    }

    private static int PayloadLength(byte[] frameHeader) =>
        (frameHeader[0] << 16) | (frameHeader[1] << 8) | frameHeader[2];

    private static byte[] HeaderBlock(Uri address, string path, (string Name, string Value)[] extra)
    {
        (string, string)[] headers =
        [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", address.Authority),
            ("content-type", "application/grpc"), ("te", "trailers"), .. extra,
        ];
        return
        [
            .. headers.SelectMany(h => (byte[])
            [
                0x00, .. Length(h.Item1), .. Encoding.ASCII.GetBytes(h.Item1),
                .. Length(h.Item2), .. Encoding.ASCII.GetBytes(h.Item2),
            ]),
        ];
    }

    // HPACK integer with a 7-bit prefix (string length, no Huffman coding).
    private static IEnumerable<byte> Length(string value)
    {
        var length = value.Length;
        if (length < 127)
        {
            yield return (byte)length;
            yield break;
        }

        yield return 127;
        for (length -= 127; length >= 128; length >>= 7)
        {
            yield return (byte)((length & 0x7F) | 0x80);
        }

        yield return (byte)length;
    }

    private static async Task WriteFrameAsync(
        Stream stream,
        byte type,
        byte flags,
        int streamId,
        ReadOnlyMemory<byte> payload,
        CancellationToken cancellationToken)
    {
        var header = new byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(5), streamId);
        await stream.WriteAsync(header, cancellationToken);
        await stream.WriteAsync(payload, cancellationToken);
    }

    private static async Task<bool> ReadExactlyAsync(
        NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return false;
        }
    }
}
